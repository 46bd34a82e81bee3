import Foundation
import Testing
import Tessera
import TesseraSegmentation

/// A run folder belongs to one run; outputs never overwrite inputs; sizes from outside are
/// bounded before use.
@Suite("run folders, outputs and limits")
struct RunFolderTests {
    static let trainArguments = [
        "train", "--width", "4", "--depth", "2", "--synthetic-count", "8", "--synthetic-size", "32", "--batch-size", "2",
        "--epochs", "1", "--threads", "2",
    ]

    static func train(_ out: URL, _ extra: [String] = []) throws -> TesseraProcess.Result {
        try TesseraProcess.run(trainArguments + ["--out", out.path] + extra)
    }

    @Test("--resume continues the folder named by --out, not the one its config.json came from")
    func resumeFollowsOut() throws {
        let root = try Fixtures.temporaryFolder()
        let original = root.appendingPathComponent("original"), copy = root.appendingPathComponent("copy")
        #expect(try Self.train(original).status == 0)
        try FileManager.default.copyItem(at: original, to: copy)
        let before = try Data(contentsOf: original.appendingPathComponent("last.safetensors"))
        let resumed = try Self.train(copy, ["--resume", "--epochs", "2"])
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("resuming with --epochs 2 (was 1)"))
        #expect(try Data(contentsOf: original.appendingPathComponent("last.safetensors")) == before, "the original run was touched")
        #expect(try String(contentsOf: copy.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n").count == 3)
    }

    @Test("a new run into a folder holding one is refused without --resume or --overwrite")
    func existingRunRefused() throws {
        let out = try Fixtures.temporaryFolder().appendingPathComponent("run")
        #expect(try Self.train(out).status == 0)
        let again = try Self.train(out)
        #expect(again.status == 2 && again.output.contains("already holds a training run; pass --resume"), "\(again.output)")
        #expect(try Self.train(out, ["--overwrite"]).status == 0)
    }

    @Test("--resume refuses an architecture change, naming both values")
    func resumeRefusesArchitectureChange() throws {
        let out = try Fixtures.temporaryFolder().appendingPathComponent("run")
        #expect(try Self.train(out).status == 0)
        let result = try TesseraProcess.run(
            Self.trainArguments.map { $0 == "4" ? "8" : $0 } + ["--out", out.path, "--resume"])
        #expect(result.status == 2 && result.output.contains("--width 8 differs from the run's 4"), "\(result.output)")
    }

    @Test("a second process training into a locked run folder is refused with the holder's process id")
    func lockRefusesSecondWriter() throws {
        let out = try Fixtures.temporaryFolder()
        let holder = try RunLockHolder(folder: out)
        let result = try Self.train(out)
        #expect(result.status == 2 && result.output.contains("is in use by another training run (process \(getpid()))"), "\(result.output)")
        withExtendedLifetime(holder) {}
    }

    @Test("a new run that fails before its first checkpoint leaves the old run's files as they were")
    func failedOverwriteKeepsOldRun() throws {
        let folder = try Fixtures.temporaryFolder()
        var configuration = TrainerTests.smallConfiguration(folder)
        configuration.epochs = 1
        _ = try Trainer(configuration: configuration).run()
        let names = ["config.json", "last.safetensors", "metrics.csv"]
        let before = try names.map { try Data(contentsOf: folder.appendingPathComponent($0)) }
        configuration.learningRate = 1e30
        configuration.optimizer = .sgd
        configuration.width = 8
        #expect(throws: TrainingError.self) { try Trainer(configuration: configuration, overwrite: true).run() }
        #expect(try names.map { try Data(contentsOf: folder.appendingPathComponent($0)) } == before)
    }

    @Test("an --out that is a file is named in one line")
    func outIsAFile() throws {
        let file = try Fixtures.temporaryFolder().appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        let result = try Self.train(file)
        #expect(result.status == 2 && result.output.contains("error: \(file.path) is a file, not a folder: choose another --out\n"), "\(result.output)")
    }

    @Test("predict refuses an --out inside an input folder, and inputs that would share an output name")
    func predictSparesInputs() throws {
        let root = try Fixtures.temporaryFolder()
        let run = root.appendingPathComponent("run")
        #expect(try Self.train(run).status == 0)
        let model = run.appendingPathComponent("best.safetensors").path
        let images = root.appendingPathComponent("images"), other = root.appendingPathComponent("other")
        for folder in [images, other] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try PNGFile.write([UInt8](repeating: 9, count: 256), width: 16, height: 16, channels: 1, to: folder.appendingPathComponent("x.png"))
        }
        for out in [images.path, images.appendingPathComponent("predictions").path] {
            let result = try TesseraProcess.run(["predict", "--model", model, "--input", images.path, "--out", out])
            #expect(result.status == 2 && result.output.contains("inside it: predictions would sit among"), "\(result.output)")
        }
        let twice = try TesseraProcess.run([
            "predict", "--model", model, "--input", images.path, other.path, "--out", root.appendingPathComponent("out").path,
        ])
        #expect(twice.status == 2 && twice.output.contains("would both be written as"), "\(twice.output)")
        #expect(try Data(contentsOf: images.appendingPathComponent("x.png")).count > 0)
    }

    @Test("sizes from options and checkpoint metadata are bounded before anything is allocated")
    func boundedSizes() throws {
        for arguments in [["--width", "100000"], ["--classes", "1000000"], ["--synthetic-size", "100000"],
                          ["--steps", "9223372036854775807"], ["--epochs", "9223372036854775807"]] {
            let result = try TesseraProcess.run(["train", "--out", try Fixtures.temporaryFolder().path] + arguments)
            #expect(result.status == 2 && result.output.split(separator: "\n").count <= 3, "\(arguments): \(result.output)")
            #expect(result.output.contains("must be") || result.output.contains("exceeds"), "\(arguments): \(result.output)")
        }
        #expect(UNetConfiguration(inputChannels: 1 << 31).problem?.contains("input channels must be between 1 and 1024") == true)
        #expect(UNetConfiguration(width: 2048, depth: 8).problem?.contains("million weights") == true)
        let url = try BadInputTests.checkpointFile(describingWidth: 100000)
        #expect {
            try Checkpoint.read(from: url)
        } throws: { error in
            (error as? CheckpointError)?.reason.contains("width must be between 1 and 4096, got 100000") == true
        }
    }

    @Test("a checkpoint holding NaN is refused by predict and reported by inspect, the tensor named")
    func nonFiniteWeights() throws {
        let url = try BadInputTests.checkpointFile(describingWidth: 4) { file in
            var weight = file.tensors["outc.conv.weight"]!
            weight[0, 0, 0, 0] = .nan
            file.tensors["outc.conv.weight"] = weight
        }
        #expect {
            try Checkpoint.read(from: url)
        } throws: { error in
            (error as? CheckpointError)?.reason == "tensor outc.conv.weight holds 1 NaN or infinite value(s); the weights are unusable"
        }
        let inspect = try TesseraProcess.run(["inspect", url.path])
        #expect(inspect.status == 2 && inspect.output.contains("tensor outc.conv.weight holds 1 NaN"), "\(inspect.output)")
    }
}

/// Holds a run folder's lock the way a training process does.
private final class RunLockHolder {
    private let descriptor: Int32

    init(folder: URL) throws {
        descriptor = open(folder.appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        #expect(descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(descriptor, $0, strlen($0)) }
    }

    deinit { close(descriptor) }
}

@Suite("messages stay one readable line")
struct MessageTests {
    @Test("long lists are cut after a few items with a count of the rest; control characters are escaped")
    func listsAndEscapes() {
        #expect(MessageText.list((1...3).map(String.init)) == "1, 2, 3")
        #expect(MessageText.list((1...100_000).map(String.init)) == "1, 2, 3, 4, 5, and 99995 more")
        #expect(MessageText.escaped("a\nb\u{1B}[31mc\td") == "a\\nb\\u{1B}[31mc\\td")
        #expect(MessageText.escaped("Zürich ✓") == "Zürich ✓")
    }

    @Test("a width mismatch over every tensor is reported in a short line")
    func shortMismatch() throws {
        let url = try BadInputTests.checkpointFile(describingWidth: 8)
        #expect {
            try Checkpoint.read(from: url)
        } throws: { error in
            let text = "\(error)"
            return text.count < 600 && text.contains("more") && !text.contains("\n")
        }
    }

    @Test("a file name with a newline is printed escaped, on one line")
    func escapedFileName() throws {
        let folder = try Fixtures.temporaryFolder()
        let images = folder.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try Data("garbage".utf8).write(to: images.appendingPathComponent("bad\nname.png"))
        let result = try TesseraProcess.run([
            "predict", "--model", Fixtures.url("pytorch_unet_state_dict.safetensors").path, "--input", images.path,
            "--out", folder.appendingPathComponent("out").path,
        ])
        #expect(result.status == 2 && result.output.contains("bad\\nname.png: not a PNG, JPEG, TIFF or GIF file"), "\(result.output)")
        #expect(result.output.split(separator: "\n").filter { $0.hasPrefix("error:") }.count == 1)
    }

    @Test("an --out below a file names the file in the way")
    func outBelowAFile() throws {
        let file = try Fixtures.temporaryFolder().appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        let result = try TesseraProcess.run([
            "predict", "--model", Fixtures.url("pytorch_unet_state_dict.safetensors").path,
            "--input", Fixtures.url("png/gray8.png").path, "--out", file.appendingPathComponent("sub").path,
        ])
        #expect(result.status == 2 && result.output.contains("\(file.path) is a file, not a folder"), "\(result.output)")
        #expect(!result.output.contains("NSCocoaErrorDomain") && !result.output.contains("Domain="))
    }
}
