import ArgumentParser
import Foundation
import Tessera

/// `tessera selfcheck`: a quick end-to-end check that the engine and its libraries work.
struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check OpenBLAS, LAPACKE and safetensors I/O on this machine.")

    func run() throws {
        var generator = RandomGenerator(seed: 7)
        let a = Tensor.normal([64, 64], using: &generator)
        let x = Tensor.normal([64, 3], using: &generator)

        let product = a.matmul(x)
        let solved = try LinearAlgebra.solve(a, product)
        report("LAPACKE solve of A·X = B recovers X", error: solved.maximumAbsoluteDifference(to: x), limit: 1e-3)

        let (u, s, vt) = try LinearAlgebra.svd(a)
        var scaledU = u
        for row in 0..<64 { for column in 0..<64 { scaledU[row, column] *= s[column] } }
        report("SVD reconstructs A", error: scaledU.matmul(vt).maximumAbsoluteDifference(to: a), limit: 1e-3)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-selfcheck-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("check.safetensors")
        try SafeTensors(tensors: ["a": a], metadata: ["purpose": "selfcheck"]).write(to: file)
        let loaded = try SafeTensors.read(from: file)
        report("safetensors round trip", error: try loaded.tensor("a").maximumAbsoluteDifference(to: a), limit: 0)
        print("OpenBLAS threads: \(BLAS.threadCount), kernels: \(BLAS.coreDescription). Engine self-check passed.")
    }

    private func report(_ check: String, error: Float, limit: Float) {
        let passed = error <= limit
        print("\(passed ? "ok  " : "FAIL") \(check) (max error \(error))")
        if !passed { Foundation.exit(1) }
    }
}
