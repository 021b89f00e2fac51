import Switchboard
import UV
import WebSocket

extension Server {
    /// End of tick: encode the tick's presence events once and write them to their recipients,
    /// one write per recipient however many events there were.
    func flushPresence() {
        guard switchboard.hasPendingPresence, let delivery = switchboard.takePresence() else { return }
        switch delivery {
        case .everyone(let events):
            let frames = Server.encodeFrames(events)
            switchboard.forEachPeer { peer in
                peer.write(shared: frames)
                metrics.presenceFrames += UInt64(events.count)
                metrics.bytesOut += UInt64(frames.count)
            }
        case .individually(let list):
            for (peer, peerEvents) in list {
                let frames = Server.encodeFrames(peerEvents)
                peer.write(shared: frames)
                metrics.presenceFrames += UInt64(peerEvents.count)
                metrics.bytesOut += UInt64(frames.count)
            }
        }
    }

    /// Consecutive text frames, one per event, in one buffer.
    static func encodeFrames(_ events: [PresenceEvent]) -> SharedBuffer {
        let payloads = events.map { Array($0.json.utf8) }
        let buffer = SharedBuffer(capacity: payloads.reduce(0) { $0 + $1.count + FrameHeader.maxSize })
        for payload in payloads {
            buffer.append(reserving: FrameHeader.maxSize) {
                FrameHeader.write(opcode: .text, payloadLength: payload.count, into: $0)
            }
            payload.withUnsafeBytes { buffer.append($0) }
        }
        return buffer
    }

    /// Sends `payload` as one text frame to every device but the sender (encoded once).
    func broadcast(_ payload: UnsafeRawBufferPointer, except sender: Connection) {
        let frame = SharedBuffer(capacity: payload.count + FrameHeader.maxSize)
        frame.append(reserving: FrameHeader.maxSize) { FrameHeader.write(opcode: .text, payloadLength: payload.count, into: $0) }
        frame.append(payload)
        switchboard.forEachPeer { peer in
            if peer !== sender { peer.write(shared: frame) }
        }
    }
}
