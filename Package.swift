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
//   BotSessionCLI       the `botsession` command for operators (installed as $(BINDIR)/botsession)
import PackageDescription

let package = Package(
    name: "BotSession",
    products: [
        .library(name: "botsession", type: .dynamic, targets: ["BotSessionC"]),
        .library(name: "BotSession", targets: ["BotSession"]),
        .executable(name: "botsession-cli", targets: ["BotSessionCLI"]),
    ],
    dependencies: [
        // The CLI's only dependency; the library has none.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .executableTarget(
            name: "BotSessionCLI",
            dependencies: ["BotSession", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: [
                // The Swift runtime inside, so the installed command runs without a toolchain.
                // A linker flag, not `swift build --static-swift-stdlib`, which would rebuild the
                // library's targets whenever the two products are built in turn. ArgumentParser
                // uses FoundationEssentials, whose static archive needs these two named.
                .unsafeFlags(["-static-stdlib", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims"])
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
