import Dispatch

/// Median wall-clock time of repeated runs, after warm-up.
enum Timing {
    /// Runs `body` `warmup` times untimed, then at least `minimumRuns` times and until
    /// `minimumSeconds` have passed, and returns the median seconds per run.
    static func median(
        warmup: Int = 2, minimumRuns: Int = 5, minimumSeconds: Double = 0.5, _ body: () -> Void
    ) -> Double {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        var total = 0.0
        while samples.count < minimumRuns || total < minimumSeconds {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            samples.append(seconds)
            total += seconds
        }
        samples.sort()
        return samples[samples.count / 2]
    }
}
