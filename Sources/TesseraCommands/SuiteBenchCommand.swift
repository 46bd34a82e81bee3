import ArgumentParser
import Foundation
import Tessera

/// `tessera bench` (the headline suite): sgemm, every U-Net convolution against bare sgemm,
/// and whole training steps and inference, optionally side by side with PyTorch.
struct SuiteBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "The headline benchmark: sgemm, U-Net convolutions, training steps; with PyTorch alongside.",
        discussion: """
            Configurations: i = w16 d4 4×1×128², ii = w32 d4 2×1×256², iii = w64 d4 1×1×256² \
            (1 class, BCE loss, Adam). Each training-step measurement runs in a fresh process so \
            that its peak RSS is its own; with --compare-pytorch, scripts/bench_pytorch.py runs \
            the same model right after it (oneDNN, then its im2col path), so drift hits both. \
            With --rounds N the three runs repeat N times in turn and each framework keeps its \
            fastest training step and its fastest inference, each from whichever round it came: \
            on a shared machine, the one least disturbed by other tenants. With \
            more than one thread, each round also times Tessera on one thread, right after its \
            multi-threaded run, for the speed-up from 1 to N threads.
            """)

    @Option(parsing: .upToNextOption, help: "Configurations to run (i, ii, iii).")
    var config: [BenchConfiguration] = BenchConfiguration.allCases
    @Option(help: "Threads for both Tessera and PyTorch.")
    var threads = CoreBudget.current.threads
    @Flag(help: "Print one JSON object per configuration (training step and inference only).")
    var json = false
    @Flag(help: "Run PyTorch's version of each configuration too (needs python3 with torch).")
    var comparePytorch = false
    @Option(help: "The PyTorch benchmark script (default: scripts/bench_pytorch.py of this checkout).")
    var pytorchScript: String?
    @Flag(help: "Skip the per-layer convolution tables.")
    var skipLayers = false
    @Option(help: "Measure every configuration this many times in turn and keep each framework's fastest round.")
    var rounds = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
    }

    func run() throws {
        let script = comparePytorch ? try locatePytorch() : nil
        if !json {
            print(try BenchProcess.capture(BenchProcess.selfArguments(["gemm", "--threads", String(threads)])))
        }
        var rows = TextTable([
            "config", "Tessera ms/step", "PyTorch", "ratio", "PyTorch im2col", "ratio", "infer ms", "PyTorch", "ratio",
            "RSS MB", "PyTorch", "ratio", "1→\(threads) threads",
        ])
        for configuration in config {
            let shape = configuration.shape
            if !json && !skipLayers {
                // In a process of its own, like every measurement here: it pins its threads,
                // which this process must not (its children would inherit the core).
                print("\n" + (try BenchProcess.capture(BenchProcess.selfArguments([
                    "conv", "--width", String(shape.width), "--depth", String(shape.depth), "--size", String(shape.size),
                    "--batch", String(shape.batch), "--threads", String(threads),
                ]))))
            }
            var tesseraRounds: [StepBenchResult] = [], pytorchRounds: [StepBenchResult] = [], im2colRounds: [StepBenchResult] = []
            var singleThreadRounds: [StepBenchResult] = []
            func step(threads: Int) throws -> StepBenchResult {
                try BenchProcess.decode(BenchProcess.capture(BenchProcess.selfArguments(["step", "--config", configuration.rawValue, "--threads", String(threads), "--json"])))
            }
            for _ in 0..<rounds {
                tesseraRounds.append(try step(threads: threads))
                if threads > 1 { singleThreadRounds.append(try step(threads: 1)) }
                if let script {
                    let base = [script, "--config", configuration.rawValue, "--threads", String(threads)]
                    pytorchRounds.append(try BenchProcess.decode(BenchProcess.capture(["/usr/bin/env", "python3"] + base)))
                    im2colRounds.append(try BenchProcess.decode(BenchProcess.capture(["/usr/bin/env", "python3"] + base + ["--im2col"])))
                }
            }
            let tessera = Self.fastest(tesseraRounds)!
            let pytorch = Self.fastest(pytorchRounds), pytorchIm2col = Self.fastest(im2colRounds)
            let threadSpeedUp = Self.fastest(singleThreadRounds).map { $0.trainMilliseconds / tessera.trainMilliseconds }
            if json {
                var line = String(tessera.json.dropLast())
                if let threadSpeedUp { line += String(format: ", \"train_speedup_vs_1_thread\": %.3f", threadSpeedUp) }
                if let pytorch, let pytorchIm2col {
                    line += ", \"pytorch\": \(pytorch.json), \"pytorch_im2col\": \(pytorchIm2col.json)"
                    line += String(format: ", \"train_speedup_vs_pytorch\": %.3f", pytorch.trainMilliseconds / tessera.trainMilliseconds)
                }
                print(line + "}")
                continue
            }
            print("\n" + tessera.description)
            func ratio(_ reference: Double?, _ ours: Double) -> String {
                reference.map { String(format: "%.2f×", $0 / ours) } ?? "—"
            }
            func milliseconds(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "—" }
            rows.append([
                configuration.label, milliseconds(tessera.trainMilliseconds),
                milliseconds(pytorch?.trainMilliseconds), ratio(pytorch?.trainMilliseconds, tessera.trainMilliseconds),
                milliseconds(pytorchIm2col?.trainMilliseconds), ratio(pytorchIm2col?.trainMilliseconds, tessera.trainMilliseconds),
                milliseconds(tessera.inferMilliseconds), milliseconds(pytorch?.inferMilliseconds),
                ratio(pytorch?.inferMilliseconds, tessera.inferMilliseconds),
                String(format: "%.0f", tessera.peakRSSMegabytes), pytorch.map { String(format: "%.0f", $0.peakRSSMegabytes) } ?? "—",
                pytorch.map { String(format: "%.2f×", tessera.peakRSSMegabytes / $0.peakRSSMegabytes) } ?? "—",
                threadSpeedUp.map { String(format: "%.2f×", $0) } ?? "—",
            ])
        }
        if !json {
            print("""

                speed ratios are PyTorch time / Tessera time (above 1: Tessera faster); RSS ratio is Tessera / PyTorch; \
                1→\(threads) threads is Tessera's training step on 1 thread / on \(threads)
                """ + "\n" + rows.rendered)
            if !comparePytorch { print("(add --compare-pytorch to run PyTorch alongside: pip install torch)") }
            if let note = Self.narrowKernelsNote { print(note) }
        }
    }

    /// A note for when the user's `OPENBLAS_CORETYPE` holds OpenBLAS to narrower kernels
    /// than Tessera would run: PyTorch's oneDNN is not bound by it and uses the widest.
    private static var narrowKernelsNote: String? {
        let kernels = BLASKernels.current
        guard case .user(let value) = kernels.chooser, let family = kernels.family, family < kernels.preferred else { return nil }
        return """
            note: OPENBLAS_CORETYPE=\(value) holds OpenBLAS to its \(kernels.coreName) kernels (\(family.instructions)) although \
            this CPU supports \(kernels.widestSupported.instructions), which PyTorch uses regardless; without the variable \
            Tessera runs \(kernels.preferred.coreName) (`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE tessera bench …`).
            """
    }

    /// The round with the shortest training step, with the shortest inference of any round
    /// (each is timed on its own, so each keeps its least disturbed round; nil for no rounds).
    private static func fastest(_ rounds: [StepBenchResult]) -> StepBenchResult? {
        guard var best = rounds.min(by: { $0.trainMilliseconds < $1.trainMilliseconds }),
              let inference = rounds.map(\.inferMilliseconds).min()
        else { return nil }
        best.inferMilliseconds = inference
        return best
    }

    /// The benchmark script, after checking that python3 can import torch.
    private func locatePytorch() throws -> String {
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let candidates: [String?] = [pytorchScript, "scripts/bench_pytorch.py",
                          executable.deletingLastPathComponent().appendingPathComponent("../../../scripts/bench_pytorch.py").standardized.path,
                          executable.deletingLastPathComponent().appendingPathComponent("../../scripts/bench_pytorch.py").standardized.path]
        guard let script = candidates.compactMap({ $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ValidationError("cannot find scripts/bench_pytorch.py; pass --pytorch-script PATH")
        }
        guard (try? BenchProcess.capture(["/usr/bin/env", "python3", "-c", "import torch"])) != nil else {
            throw ValidationError("--compare-pytorch needs PyTorch: pip install torch (python3 could not import torch)")
        }
        return script
    }
}
