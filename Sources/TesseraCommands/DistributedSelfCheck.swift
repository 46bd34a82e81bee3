import Tessera
import TesseraDistributed

/// What `tessera selfcheck` adds under mpirun: the all-reduce of tensors of odd sizes
/// against their sum computed locally, and data-parallel gradients through buckets that
/// split a large tensor and join many small ones, against the known average.
enum DistributedSelfCheck {
    /// Each check's name and relative error, summed over the processes (so that all of
    /// them report the same figure, no smaller than the worst).
    static func run(_ communicator: Communicator) -> [(check: String, error: Float)] {
        [allReduce(communicator), dataParallel(communicator)].map { check, error in
            var worst = [Double(error)]
            communicator.sumOverReplicas(&worst)
            return (check, Float(worst[0]))
        }
    }

    /// Every process's tensor is drawn from a seed of its rank, so each can compute the sum.
    private static func allReduce(_ communicator: Communicator) -> (String, Float) {
        let sizes = [1, 7, 1023, 65_537, 1_000_003]
        var error: Float = 0
        for (index, size) in sizes.enumerated() {
            func tensor(of rank: Int) -> Tensor {
                var generator = RandomGenerator(seed: UInt64(1000 * index + rank))
                return Tensor.normal([size], using: &generator)
            }
            let reduced = communicator.sum(tensor(of: communicator.rank))
            let expected = (1..<communicator.size).reduce(tensor(of: 0)) { $0 + tensor(of: $1) }
            error = max(error, reduced.maximumAbsoluteDifference(to: expected) / max(1, expected.scalars.map(abs).max() ?? 0))
        }
        return ("all-reduce of \(sizes.count) tensors of odd sizes (1 to \(sizes.last!)) equals their sum over \(communicator.size) processes", error)
    }

    /// A probe with one tensor five buckets long and forty of one element; the value on
    /// rank r is (r + 1)·Σ c·p, so the averaged gradient is c·(N + 1)/2.
    private static func dataParallel(_ communicator: Communicator) -> (String, Float) {
        let probe = Probe()
        let parallel = DataParallel(probe, communicator: communicator, bucketBytes: 4096)
        let coefficients = probe.namedParameters().map { name, parameter in
            (name, Tensor(shape: parameter.value.shape, scalars: (0..<parameter.value.count).map { Float($0 % 13) - 6 }))
        }
        let (_, gradients) = parallel.valueAndGradient { probe in
            let terms = zip(probe.namedParameters(), coefficients).map { ($0.1.value * $1.1).sum() }
            return terms.dropFirst().reduce(terms[0], +) * Float(communicator.rank + 1)
        }
        let mean = Float(communicator.size + 1) / 2
        var error: Float = 0
        for (name, coefficient) in coefficients {
            guard let gradient = gradients[name] else { return ("data-parallel gradients: \(name) has none", .infinity) }
            error = max(error, gradient.maximumAbsoluteDifference(to: coefficient * mean) / 6)
        }
        return ("data-parallel gradients through 4 KB buckets (one tensor over 5 buckets, 40 sharing one) are the average", error)
    }

    private final class Probe: Module {
        let large = Parameter(Tensor.zeros([5000]))
        let small = (0..<40).map { _ in Parameter(Tensor.zeros([1])) }

        override func namedParameterBoxes() -> [(String, Parameter)] {
            [("large", large)] + small.enumerated().map { ("small.\($0.offset)", $0.element) }
        }
    }
}
