import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What pairing by code gives a phone (token mode).
public struct Pairing: Sendable, Equatable {
    public var deviceID: String
    public var token: String
    public var box: String
    public var expires: Int
}

extension TetherClient {
    /// Token mode: trades a pairing code (and the phone's current token, to keep its id) for a
    /// phone token at `POST /pair`. Throws `.pairFailed` (reason "used", "unknown", "expired",
    /// or the HTTP status) or `.unreachable`.
    public static func pair(url: URL, code: String, token: String? = nil) async throws -> Pairing {
        guard let endpoint = try ServerAddress(url).httpURL("/pair") else { throw TetherError(.invalid, "bad url") }
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        var body: [String: JSONValue] = ["code": .string(code)]
        if let token { body["token"] = .string(token) }
        request.httpBody = Data(JSONValue.object(body).jsonText.utf8)
        let data: Data, response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw TetherError(.unreachable, "could not reach the server: \(error.localizedDescription)")
        }
        let httpStatus = (response as? HTTPURLResponse)?.statusCode ?? 0
        let answer = JSONValue(parsing: String(decoding: data, as: UTF8.self))
        if httpStatus == 200, let fields = answer?["data"], let token = fields["token"]?.stringValue,
           let id = fields["device_id"]?.stringValue, DeviceID.isValid(id) {
            return Pairing(deviceID: id, token: token, box: fields["box"]?.stringValue ?? "", expires: fields["expires"]?.intValue ?? 0)
        }
        throw TetherError(.pairFailed, answer?["message"]?.stringValue ?? "POST /pair answered \(httpStatus)",
                          status: answer?["status"]?.intValue, data: answer?["data"],
                          reason: answer?["data"]?["reason"]?.stringValue ?? String(httpStatus))
    }
}
