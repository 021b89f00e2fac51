// swift-tools-version: 6.0
import PackageDescription

// The per-message path runs on one thread that owns all state; dynamic exclusivity checks cost
// ~15% of its instructions (callgrind, scripts/callgrind-route.sh), so release builds of the hot
// modules check statically only. Debug builds and tests keep the runtime checks. Cross-module
// optimization lets the server specialize Switchboard's generic code (unspecialized, it looked up
// generic metadata twice per message: another ~10%).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "Tether",
    products: [
        .executable(name: "tether", targets: ["tether"]),
        .executable(name: "tether-bench", targets: ["tether-bench"]),
        .library(name: "TetherClient", targets: ["TetherClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibUV",
            path: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            path: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CQREncode",
            path: "CQREncode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CSSL",
            path: "CSSL",
            pkgConfig: "libssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "UV", dependencies: ["CLibUV"], swiftSettings: hotPath),
        .target(name: "SHA1", dependencies: ["CCrypto"], swiftSettings: hotPath),
        // `String.withBytes`: a string's UTF-8 without copying it, for WebSocket and Switchboard.
        .target(name: "StringBytes", swiftSettings: hotPath),
        .target(name: "WebSocket", dependencies: ["SHA1", "StringBytes"], swiftSettings: hotPath),
        .target(name: "Switchboard", dependencies: ["StringBytes"], swiftSettings: hotPath),
        .target(name: "Auth", dependencies: ["CCrypto"]),
        // Kept messages go through it once each (#18): built like the hot modules.
        .target(name: "Storage", dependencies: ["Auth", "CSQLite"], swiftSettings: hotPath),
        .target(name: "Pairing", dependencies: ["CQREncode", "CZlib"], resources: [.embedInCode("Web")]),
        // The operator console's state (sessions, event ring, samples); no I/O.
        .target(name: "Console", dependencies: ["Auth", "Switchboard"]),
        // A client for apps (Foundation allowed here); no server module depends on it.
        .target(name: "TetherClient", dependencies: ["UV", "CLibUV", "WebSocket"]),
        .target(name: "TLS", dependencies: ["CSSL"], swiftSettings: hotPath),
        .target(name: "WebSocketDeflate", dependencies: ["WebSocket", "CZlib"], swiftSettings: hotPath),
        .target(name: "Redis", dependencies: ["UV", "SHA1"], swiftSettings: hotPath),
        .target(name: "Cluster", dependencies: ["Redis", "UV", "Storage"], swiftSettings: hotPath),
        .target(
            name: "TetherServer",
            dependencies: ["UV", "WebSocket", "Switchboard", "Auth", "Storage", "TLS", "WebSocketDeflate", "Pairing", "Cluster", "Console", .product(name: "Logging", package: "swift-log")],
            swiftSettings: hotPath
        ),
        .executableTarget(
            name: "tether",
            dependencies: [
                "TetherServer",
                "Switchboard",
                "Auth",
                "UV",
                "Pairing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "BenchKit",
            dependencies: ["UV", "WebSocket", "Auth", "TLS", "WebSocketDeflate", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        .executableTarget(
            name: "tether-bench",
            dependencies: ["BenchKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "tether-microbench", dependencies: ["WebSocket", "Switchboard"]),
        .testTarget(name: "UVTests", dependencies: ["UV", "CLibUV"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "SHA1"]),
        .testTarget(name: "SwitchboardTests", dependencies: ["Switchboard"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth"], exclude: ["Fixtures"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Auth", "CSQLite", "TestSupport"]),
        .testTarget(name: "PairingTests", dependencies: ["Pairing", "CZlib"], exclude: ["Golden"]),
        .testTarget(name: "BenchKitTests", dependencies: ["BenchKit", "TLS", "WebSocket", "WebSocketDeflate"], exclude: ["faulty_server.py"]),
        .testTarget(name: "TetherClientTests", dependencies: ["TetherClient", "Auth"]),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "CSSL", "TestSupport"]),
        .testTarget(name: "WebSocketDeflateTests", dependencies: ["WebSocketDeflate", "WebSocket", "CZlib", "TestSupport"], exclude: ["Fixtures"]),
        // Helpers shared by test targets (a seeded generator).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "UV", "Cluster", "Storage", "SHA1"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console"]),
    ],
    swiftLanguageModes: [.v6]
)
