import Foundation

/// Runs the `tessera` command that the test build produced beside the test bundle.
enum TesseraProcess {
    struct Result {
        let status: Int32
        let output: String
    }

    /// `tessera arguments…` with this process's environment; its standard output and
    /// standard error together.
    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = try executable
        process.arguments = arguments
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
