import ArgumentParser
import Foundation
import Tessera

/// `tessera bench conv`: every distinct 3×3 convolution of a U-Net, each pass timed
/// against a bare sgemm of the same M, N, K (and transposes) measured in the same run.
struct ConvBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Convolution forward / backward-data / backward-weight speed versus bare sgemm.")

    @Option(help: "U-Net base width (channels of the first level).")
    var width: Int = 16

    @Option(help: "U-Net depth (number of down-sampling steps).")
    var depth: Int = 4

    @Option(help: "Input height and width.")
    var size: Int = 128

    @Option(help: "Images per batch.")
    var batch: Int = 1

    @Option(help: "OpenBLAS threads.")
    var threads = CoreBudget.current.threads

    func validate() throws {
        guard width >= 1, depth >= 1, batch >= 1, threads >= 1 else {
            throw ValidationError("--width, --depth, --batch and --threads must be at least 1")
        }
        guard size >> depth >= 1, size % (1 << depth) == 0 else {
            throw ValidationError("--size \(size) must be a multiple of 2^depth = \(1 << depth)")
        }
    }

    /// The distinct (Cin, Cout, side) of the U-Net's 3×3 convolutions, encoder then decoder.
    static func layers(width: Int, depth: Int, size: Int) -> [(inputChannels: Int, outputChannels: Int, side: Int)] {
        var shapes: [(Int, Int, Int)] = [(1, width, size), (width, width, size)]
        for level in 1...depth {
            let channels = width << level, side = size >> level
            shapes += [(channels / 2, channels, side), (channels, channels, side)]
        }
        for level in stride(from: depth - 1, through: 0, by: -1) {
            let channels = width << level, side = size >> level
            shapes += [(channels * 2, channels, side)]
        }
        var seen = Set<[Int]>()
        return shapes.filter { seen.insert([$0.0, $0.1, $0.2]).inserted }
    }

    func run() throws {
        withExecutionContext(ExecutionContext(threads: threads)) {
            print(ConvBenchCommand.layerTable(width: width, depth: depth, size: size, batch: batch, threads: threads))
        }
    }

    /// The timing table of every distinct 3×3 convolution of a U-Net, with the totals line.
    private static func layerTable(width: Int, depth: Int, size: Int, batch: Int, threads: Int) -> String {
        var lines = ["U-Net width \(width), depth \(depth), \(batch)×1×\(size)², threads \(threads); ratio = bare sgemm time / layer time"]
        var table = TextTable(["layer", "pass", "M×N×K", "ms", "GFLOP/s", "sgemm GFLOP/s", "ratio"])
        var totalLayer = 0.0, totalGemm = 0.0
        for (inputChannels, outputChannels, side) in layers(width: width, depth: depth, size: size) {
            var generator = RandomGenerator(seed: 1)
            let x = Tensor.normal([batch, inputChannels, side, side], using: &generator)
            let weight = Tensor.normal([outputChannels, inputChannels, 3, 3], using: &generator)
            let dy = Tensor.normal([batch, outputChannels, side, side], using: &generator)
            let k = inputChannels * 9, pixels = batch * side * side
            let passes: [(String, Convolution2D.Pass, Bool, Bool, (Int) -> GemmShape, () -> Void)] = [
                ("forward", .forward, false, false, { GemmShape(m: outputChannels, n: $0, k: k) }, {
                    _ = Convolution2D.forward(input: x, weight: weight, padding: 1)
                }),
                ("data", .inputGradient, true, false, { GemmShape(m: k, n: $0, k: outputChannels) }, {
                    _ = Convolution2D.backwardData(gradientOfOutput: dy, weight: weight, inputShape: x.shape, padding: 1)
                }),
                ("weight", .weightGradient, false, true, { GemmShape(m: outputChannels, n: k, k: $0) }, {
                    _ = Convolution2D.backwardWeight(gradientOfOutput: dy, input: x, weightShape: weight.shape, padding: 1)
                }),
            ]
            let label = "\(inputChannels)→\(outputChannels) @\(side)²"
            let flops = 2.0 * Double(outputChannels * k * pixels)
            var layerTotal = 0.0, gemmTotal = 0.0
            for (pass, lowered, transposeA, transposeB, shape, body) in passes {
                // The GEMMs the pass issues: one per tile of its lowering, `width` pixels wide.
                let widths = Convolution2D.tileWidths(inputShape: x.shape, weightShape: weight.shape, padding: 1, pass: lowered)
                let bareGemm = BareGemm(transposeA: transposeA, transposeB: transposeB, shapes: widths.map(shape))
                let medians = Timing.interleavedMedians(minimumSeconds: 0.4, [body, bareGemm.run])
                let layerSeconds = medians[0], gemmSeconds = medians[1]
                layerTotal += layerSeconds
                gemmTotal += gemmSeconds
                let first = shape(widths[0])
                table.append([
                    label, pass, "\(first.m)×\(first.n)×\(first.k) ×\(widths.count)", String(format: "%.3f", layerSeconds * 1e3),
                    String(format: "%.1f", flops / layerSeconds / 1e9), String(format: "%.1f", flops / gemmSeconds / 1e9),
                    String(format: "%.2f", gemmSeconds / layerSeconds),
                ])
            }
            table.append([
                label, "layer", "all three passes", String(format: "%.3f", layerTotal * 1e3),
                String(format: "%.1f", 3 * flops / layerTotal / 1e9), String(format: "%.1f", 3 * flops / gemmTotal / 1e9),
                String(format: "%.2f", gemmTotal / layerTotal),
            ])
            totalLayer += layerTotal
            totalGemm += gemmTotal
        }
        lines.append(table.rendered)
        lines.append(String(format: "all 3×3 conv passes: %.2f ms, bare sgemm %.2f ms, ratio %.2f", totalLayer * 1e3, totalGemm * 1e3, totalGemm / totalLayer))
        return lines.joined(separator: "\n")
    }
}

/// The M, N and K of one GEMM.
struct GemmShape {
    let m: Int, n: Int, k: Int
}

/// sgemm calls of given shapes and transposes on preallocated operands: the reference a
/// layer's pass is compared with, issuing the same GEMMs as the layer. Every operand's
/// rows are padded as a ``Workspace`` pads column matrices for the BLAS kernels in use, so
/// that the reference is not slowed by power-of-two strides the layer avoids.
struct BareGemm {
    let transposeA: Bool, transposeB: Bool
    let shapes: [GemmShape]
    /// The floats by which every operand's rows are padded.
    private static let padding = KernelTuning.machine.columnPadding
    private let a: Tensor, b: Tensor, c: Tensor

    init(transposeA: Bool, transposeB: Bool, shapes: [GemmShape]) {
        (self.transposeA, self.transposeB, self.shapes) = (transposeA, transposeB, shapes)
        var generator = RandomGenerator(seed: 2)
        let pad = Self.padding
        a = Tensor.uniform([shapes.map { ($0.m + pad) * ($0.k + pad) }.max() ?? 0], using: &generator)
        b = Tensor.uniform([shapes.map { ($0.k + pad) * ($0.n + pad) }.max() ?? 0], using: &generator)
        c = Tensor.zeros([shapes.map { $0.m * ($0.n + pad) }.max() ?? 0])
    }

    /// One timed unit: one call per shape. The output buffer is private to this value.
    func run() {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeBufferPointer { c in
                    for shape in shapes {
                        BLAS.gemm(
                            transposeA: transposeA, transposeB: transposeB, m: shape.m, n: shape.n, k: shape.k,
                            a: a.baseAddress!, lda: (transposeA ? shape.m : shape.k) + Self.padding,
                            b: b.baseAddress!, ldb: (transposeB ? shape.k : shape.n) + Self.padding,
                            c: UnsafeMutablePointer(mutating: c.baseAddress!), ldc: shape.n + Self.padding)
                    }
                }
            }
        }
    }
}
