import Dispatch

/// Median wall-clock times of repeated runs, after warm-up.
enum Timing {
    /// Runs `body` `warmup` times untimed, then at least `minimumRuns` times and until
    /// `minimumSeconds` have passed, and returns the median seconds per run.
    static func median(
        warmup: Int = 2, minimumRuns: Int = 5, minimumSeconds: Double = 0.5, _ body: () -> Void
    ) -> Double {
        withoutActuallyEscaping(body) { body in
            interleavedMedians(warmup: warmup, minimumRuns: minimumRuns, minimumSeconds: minimumSeconds, [body])[0]
        }
    }

    /// Times several bodies in alternation (A, B, A, B, …) so that machine drift affects
    /// all of them alike, and returns each one's median seconds per run.
    static func interleavedMedians(
        warmup: Int = 2, minimumRuns: Int = 5, minimumSeconds: Double = 0.5, _ bodies: [() -> Void]
    ) -> [Double] {
        for body in bodies { for _ in 0..<warmup { body() } }
        var samples = [[Double]](repeating: [], count: bodies.count)
        var total = 0.0
        while samples[0].count < minimumRuns || total < minimumSeconds {
            for (index, body) in bodies.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                samples[index].append(seconds)
                total += seconds
            }
        }
        return samples.map { $0.sorted()[$0.count / 2] }
    }
}
