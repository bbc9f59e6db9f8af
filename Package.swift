// swift-tools-version: 6.0
//
// BotSession: a session engine for chat-bot runtimes.
//
// Products
//   libbotsession.so  (`botsession`)  the C ABI, Swift runtime linked in statically
//   BotSession                         the Swift API of the engine, for Swift programs
//
// Targets
//   CSQLite, CLibPQ,    system libraries found with pkg-config
//   CJansson
//   CBotSessionABI      the public C header (include/botsession.h) as a Clang module, so the
//                       @_cdecl layer is compiled against the very types C programs see
//   BotSession          the engine: keys, sessions, stores; no Foundation, no C ABI
//   BotSessionC         the thin @_cdecl layer that translates the C API onto the engine
import PackageDescription

let package = Package(
    name: "BotSession",
    products: [
        .library(name: "botsession", type: .dynamic, targets: ["BotSessionC"]),
        .library(name: "BotSession", targets: ["BotSession"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CJansson", pkgConfig: "jansson",
            providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CBotSessionABI"),
        .target(
            name: "BotSession",
            // No unsafe flags here: packages that depend on BotSession by version may only use
            // targets without them (the C library's linker flags below are the `botsession`
            // product's, which such packages do not build).
            dependencies: ["CSQLite", "CLibPQ"]),
        .target(
            name: "BotSessionC",
            dependencies: ["BotSession", "CBotSessionABI"],
            exclude: ["exports.map"],
            linkerSettings: [
                .unsafeFlags([
                    // Export botsession_* only; without it every @_cdecl function also exports
                    // a mangled Swift twin and the public Swift API leaks into the ABI.
                    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/BotSessionC/exports.map",
                    "-Xlinker", "-soname=libbotsession.so.0",
                    // A static Swift runtime must never be unloaded: dlopen/dlclose cycles would
                    // otherwise leak pthread keys until the process runs out of them.
                    "-Xlinker", "-z", "-Xlinker", "nodelete",
                    // The Swift runtime goes inside the .so (--static-swift-stdlib is ignored
                    // for dynamic libraries).
                    "-static-stdlib",
                    "-use-ld=lld",
                ])
            ]),
        // The README's Swift quick start, built and run by scripts/check-readme.sh.
        .executableTarget(
            name: "SwiftQuickStart",
            dependencies: ["BotSession"],
            path: "examples/swift-quickstart"),
        .testTarget(
            name: "BotSessionTests",
            dependencies: ["BotSession", "CJansson", "CSQLite"]),
    ]
)
