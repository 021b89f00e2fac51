import Switchboard
import WebSocket

/// What a device's upgrade request asks for: `/?device_id=ID` (or `deviceid=`) or `/ID`, and an
/// optional `queryStatus=ID,ID` answered right after the handshake.
struct DeviceRequest {
    let deviceID: String
    let queryStatus: [String]

    /// The device's token (token mode): `?token=` (browsers cannot set headers) or `Authorization: Bearer`.
    /// Read only in token mode (looking it up cost every open-mode handshake a query walk and a header lookup).
    static func token(in head: HTTPRequestHead) -> String? {
        head.queryValue("token") ?? head.bearerToken
    }

    static func parse(_ head: HTTPRequestHead) -> Result<DeviceRequest, HTTPResponse> {
        // The path only when the query names no id (counting Characters is not free).
        let fromQuery = head.queryValue("device_id") ?? head.queryValue("deviceid")
        guard let id = fromQuery ?? (head.path.count > 1 ? String(head.path.dropFirst()) : nil) else {
            return .failure(badRequest("missing device id: connect to /?device_id=ID or /ID"))
        }
        if let problem = DeviceID.problem(with: id) { return .failure(badRequest(problem)) }
        var query: [String] = []
        if let list = head.queryValue("queryStatus") {
            query = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if query.count > Switchboard<Connection>.maxQueryIDs {
                return .failure(badRequest("queryStatus: at most \(Switchboard<Connection>.maxQueryIDs) ids"))
            }
            if let bad = query.first(where: { !DeviceID.isValid($0) }) {
                return .failure(badRequest("queryStatus: \(DeviceID.problem(with: bad)!)"))
            }
        }
        return .success(DeviceRequest(deviceID: id, queryStatus: query))
    }

    static func badRequest(_ message: String) -> HTTPResponse {
        .json(400, String(decoding: Reply(.malformed, message).bytes, as: UTF8.self))
    }
}
