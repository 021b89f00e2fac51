import CLibUV

/// A libuv failure: the negative error code libuv returned and its `uv_strerror` text.
public struct UVError: Error, Equatable, CustomStringConvertible, Sendable {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    public var name: String { String(cString: uv_err_name(code)) }
    public var message: String { String(cString: uv_strerror(code)) }
    public var description: String { "\(name): \(message)" }

    public var isEOF: Bool { code == Int32(UV_EOF.rawValue) }

    /// Throws when `result` is a libuv error code; returns non-negative results unchanged.
    @discardableResult
    static func check(_ result: Int32) throws(UVError) -> Int32 {
        if result < 0 { throw UVError(result) }
        return result
    }
}
