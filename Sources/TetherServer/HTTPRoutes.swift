import WebSocket

/// Plain HTTP requests (not upgrades).
enum HTTPRoutes {
    static func respond(to head: HTTPRequestHead, server: Server) -> HTTPResponse {
        switch head.path {
        case "/healthz":
            return .json(200, "{\"status\":\"ok\"}")
        default:
            return .json(404, "{\"status\":2,\"message\":\"no route for \(jsonEscaped(head.path))\"}")
        }
    }
}
