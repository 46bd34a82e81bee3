import ArgumentParser
import Foundation
import Tessera
import TesseraDistributed
import TesseraSegmentation

/// The `tessera` command: train, evaluate and benchmark convolutional models on the CPU.
public struct TesseraCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Train and use U-Net segmentation models on the CPU, on OpenBLAS.",
        discussion: """
            Exit status: 0 on success, 1 when a run fails (e.g. the loss becomes NaN, a file \
            cannot be written), 2 for bad usage or bad input (options, images, masks, checkpoints).
            """,
        subcommands: [TrainCommand.self, PredictCommand.self, EvaluateCommand.self, SummaryCommand.self, ExplainCommand.self, SynthCommand.self, InspectCommand.self, BenchCommand.self, SelfCheckCommand.self]
    )

    /// Parses the arguments and runs the subcommand; every failure ends in one line on
    /// standard error and the documented exit status.
    public init() {}

    public static func main() {
        // A file-size limit (ulimit -f) then fails the write with EFBIG, which is reported,
        // instead of killing the process.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            // The suites only start other processes (Tessera's, mpirun's and PyTorch's), which
            // must not inherit a pinned core.
            ProcessSetup.prepare(pinningThreads: !(command is SuiteBenchCommand || command is DistributedBenchCommand))
            try command.run()
        } catch {
            if let communicator = Communicator.current, communicator.size > 1 {
                // The other processes wait in collective calls: end the whole job, saying
                // which process failed. An error that all of them share is printed by
                // each, since the first to abort ends the others, perhaps before they print.
                let message = "error: rank \(communicator.rank) of \(communicator.size): " + MessageText.escaped(describe(error)) + "\n"
                FileHandle.standardError.write(Data(message.utf8))
                communicator.abort(code: isBadInput(error) ? 2 : 1)
            }
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code != .failure && code != .validationFailure && error is ExitCode {
                Foundation.exit(code.rawValue)
            }
            // Usage errors are ArgumentParser's own lines; everything else is one line, with
            // control characters in names escaped.
            let message = code == .validationFailure || isArgumentParserError(error)
                ? fullMessage(for: error) : "error: " + MessageText.escaped(describe(error))
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(isBadInput(error) ? 2 : 1)
        }
    }

    /// The error in words: Foundation's file errors as the path and the system's reason
    /// instead of their NSCocoaErrorDomain dump.
    private static func describe(_ error: Error) -> String {
        let bridged = error as NSError
        guard bridged.domain == NSCocoaErrorDomain else { return "\(error)" }
        let path = bridged.userInfo[NSFilePathErrorKey] as? String ?? (bridged.userInfo[NSURLErrorKey] as? URL)?.path ?? "a file"
        if let underlying = bridged.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return "\(path): \(String(cString: strerror(Int32(underlying.code))))"
        }
        // Without the system's reason, find it on the path: a file where a folder should be.
        var ancestor = URL(fileURLWithPath: path)
        while ancestor.path != "/" {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
                if !isDirectory.boolValue { return "\(path): \(ancestor.path) is a file, not a folder" }
                break
            }
            ancestor.deleteLastPathComponent()
        }
        return "\(path): the file operation failed (Foundation error \(bridged.code))"
    }

    private static func isArgumentParserError(_ error: Error) -> Bool {
        exitCode(for: error) == .validationFailure
    }

    private static func isBadInput(_ error: Error) -> Bool {
        switch error {
        case let error as TrainingError: error.isBadInput
        case is AtomicFileError: false
        case let error as CommunicatorError: error.onEveryProcess
        case is DatasetError, is ImageFileError, is CheckpointError, is SafeTensorsError, is ModuleLoadingError: true
        case let error as NSError where error.domain == NSCocoaErrorDomain: true
        default: isArgumentParserError(error)
        }
    }
}
