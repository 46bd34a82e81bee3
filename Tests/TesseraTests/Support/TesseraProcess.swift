import Foundation

/// Runs the `tessera` command that the test build produced beside the test bundle, or
/// another program.
enum TesseraProcess {
    struct Result {
        let status: Int32
        let output: String
    }

    /// `tessera arguments…` with this process's environment; its standard output and
    /// standard error together.
    static func run(_ arguments: [String]) throws -> Result {
        try run(executable, arguments)
    }

    /// `program arguments…` in `folder` (default: this process's), as ``run(_:)``.
    static func run(_ program: URL, _ arguments: [String], in folder: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = folder }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The `tessera` built beside the test bundle.
    static var executable: URL {
        get throws {
            let testBundle = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            return testBundle.deletingLastPathComponent().appendingPathComponent("tessera")
        }
    }
}
