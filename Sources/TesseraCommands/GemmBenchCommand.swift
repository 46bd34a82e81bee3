import ArgumentParser
import Foundation
import Tessera

/// `tessera bench gemm`: sgemm GFLOP/s for square matrices through Tessera's BLAS wrapper.
struct GemmBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "sgemm GFLOP/s for square sizes (median of repeated runs).")

    @Option(help: "Comma-separated square sizes.")
    var sizes: String = "256,1024,2048"

    @Option(help: "OpenBLAS threads.")
    var threads = CoreBudget.current.threads

    @Flag(help: "Print one JSON object per size instead of a table.")
    var json = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard parsedSizes != nil else { throw ValidationError("--sizes must be positive integers separated by commas, got '\(sizes)'") }
    }

    private var parsedSizes: [Int]? {
        let values = sizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return values.map { $0! }
    }

    func run() throws {
        withExecutionContext(ExecutionContext(threads: threads)) { measure() }
    }

    /// The table, with the context of --threads.
    private func measure() {
        if !json {
            MachineReport.lines.forEach { print($0) }
            print("size      ms/call   GFLOP/s   (threads: \(threads))")
        }
        for n in parsedSizes! {
            var generator = RandomGenerator(seed: UInt64(n))
            let a = Tensor.uniform([n, n], low: -1, high: 1, using: &generator)
            let b = Tensor.uniform([n, n], low: -1, high: 1, using: &generator)
            var c = Tensor.zeros([n, n])
            let seconds = a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        Timing.median {
                            BLAS.gemm(m: n, n: n, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n, c: c.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            let gflops = 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
            if json {
                print("{\"size\": \(n), \"ms\": \(String(format: "%.4f", seconds * 1e3)), \"gflops\": \(String(format: "%.2f", gflops)), \"threads\": \(threads), \"blas_core\": \"\(BLAS.coreName)\"}")
            } else {
                print(String(format: "%-8d %9.3f %9.1f", n, seconds * 1e3, gflops))
            }
        }
    }
}
