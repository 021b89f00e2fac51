import CZlib
import Testing
@testable import WebSocketDeflate

/// A client that keeps its compression context (no client_no_context_takeover): later messages
/// refer back into earlier ones, and the connection's own inflater must follow.
@Suite struct ContextTakeoverTests {
    /// A zlib stream kept across messages, as such a client compresses.
    final class ContextClient {
        var stream = z_stream()
        init(windowBits: Int) {
            precondition(deflateInit2_(&stream, 6, Z_DEFLATED, -Int32(windowBits), 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        }
        deinit { deflateEnd(&stream) }

        func send(_ message: [UInt8]) -> [UInt8] {
            var input = message
            var output = [UInt8](repeating: 0, count: message.count + 64)
            input.withUnsafeMutableBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    stream.next_in = source.baseAddress
                    stream.avail_in = uInt(source.count)
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    precondition(deflate(&stream, Z_SYNC_FLUSH) == Z_OK)
                }
            }
            return Array(output[0..<(output.count - Int(stream.avail_out) - 4)])
        }
    }

    @Test func secondMessageReferringToTheFirstInflates() {
        let client = ContextClient(windowBits: 10)
        let inflater = MessageInflater(maxMessageBytes: 1 << 16, windowBits: 10, keepsContext: true)
        let first = jsonMessage(bytes: 300, seed: 1)
        let second = first   // compresses to a few bytes: one back-reference
        let firstCompressed = client.send(first)
        let secondCompressed = client.send(second)
        #expect(secondCompressed.count < 10)
        #expect(inflater.inflate(firstCompressed) == .success(first))
        #expect(inflater.inflate(secondCompressed) == .success(second))
    }

    @Test func manyMessagesWithContextRoundTrip() {
        let client = ContextClient(windowBits: 15)
        let inflater = MessageInflater(maxMessageBytes: 1 << 16, keepsContext: true)
        for seed in 1...30 {
            let message = jsonMessage(bytes: 50 + 37 * seed, seed: UInt64(seed % 4))
            #expect(inflater.inflate(client.send(message)) == .success(message))
        }
    }
}
