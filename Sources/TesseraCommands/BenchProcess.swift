import ArgumentParser
import Foundation

/// The processes the benchmark commands measure in: `tessera bench …` of this executable,
/// `mpirun` and PyTorch, each run to its end with its standard output captured.
enum BenchProcess {
    /// `tessera bench arguments…` with this executable.
    static func selfArguments(_ arguments: [String]) -> [String] {
        [executable, "bench"] + arguments
    }

    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Runs a command and returns its standard output; fails on a non-zero exit.
    ///
    /// - Parameter environment: variables added to this process's environment.
    static func capture(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The result on the last line of a `--json` measurement.
    static func decode(_ text: String) throws -> StepBenchResult {
        guard let line = text.split(separator: "\n").last, let data = line.data(using: .utf8),
              let result = try? JSONDecoder().decode(StepBenchResult.self, from: data)
        else { throw ValidationError("cannot read a benchmark result from: \(text)") }
        return result
    }
}
