import Dispatch
import Synchronization
import Tessera

/// One model trained data-parallel over the processes of a ``Communicator``, with the
/// semantics of PyTorch's `DistributedDataParallel`: every process holds a replica, starts
/// from rank 0's weights, computes gradients on its own share of the batch, and gets the
/// average of all processes' gradients, so that the same optimizer step keeps the
/// replicas identical.
///
/// ```swift
/// let parallel = try DataParallel(model, communicator: .world())
/// let (loss, gradients) = parallel.valueAndGradient { model in
///     binaryCrossEntropyWithLogits(model(images), masks)  // this process's share
/// }
/// optimizer.update(model, gradients: gradients)
/// ```
/// Gradients are averaged in buckets (``BucketLayout``) whose all-reduce starts as soon as
/// their last gradient is final during the backward pass, so that communication overlaps
/// computation.
public final class DataParallel<Model: Module> {
    public let model: Model
    public let communicator: Communicator
    /// The largest bucket, in bytes.
    public let bucketBytes: Int
    /// The first bucket, the first to be reduced during the backward pass (DDP's 1 MB).
    public let firstBucketBytes: Int
    /// Timings of the last ``valueAndGradient(_:)``.
    public private(set) var lastReduction = ReductionTiming(reducing: 0, waiting: 0)

    private var names: [String] = []
    private var layout = BucketLayout(sizes: [], order: [], capacity: 1)
    private var storage: UnsafeMutableBufferPointer<Float> = .init(start: nil, count: 0)
    private var bucketStarts: [Int] = []
    /// Seconds of all-reduce in the current step, added to on the communicator's queue.
    private let reducingSeconds = Total()

    /// Wraps `model` and gives every process rank 0's parameters, state and counters.
    ///
    /// - Parameters:
    ///   - bucketBytes: the largest bucket (PyTorch's default, 25 MB); the first is at most
    ///     1 MB, as PyTorch's.
    ///   - synchronizingBatchNorm: normalise every ``BatchNorm2d`` with the statistics of
    ///     all processes' batches together (PyTorch's `SyncBatchNorm`); by default each
    ///     process normalises its own batch and the running statistics follow rank 0's.
    public init(_ model: Model, communicator: Communicator, bucketBytes: Int = 25 << 20, synchronizingBatchNorm: Bool = false) {
        self.model = model
        self.communicator = communicator
        self.bucketBytes = max(4, bucketBytes)
        self.firstBucketBytes = min(self.bucketBytes, 1 << 20)
        for (_, parameter) in model.namedParameters() {
            parameter.value = communicator.broadcast(parameter.value)
        }
        broadcastCounters()
        if synchronizingBatchNorm {
            for module in Self.modules(of: model) {
                (module as? BatchNorm2d)?.replicas = communicator
            }
        }
    }

    deinit {
        storage.deallocate()
    }

    /// The value of `function` on this process's share, and the gradients of the
    /// average of all processes' values with respect to the trainable parameters (as
    /// ``valueAndGradient(of:gradientFinished:_:)``, then averaged over the processes).
    public func valueAndGradient(_ function: (Model) throws -> Tensor) rethrows -> (value: Tensor, gradients: Gradients) {
        let parameters = model.trainableParameters()
        prepareBuckets(for: parameters)
        var pending = layout.buckets.map(\.count)
        reducingSeconds.value.withLock { $0 = 0 }
        let base = storage.baseAddress!
        nonisolated(unsafe) let buckets = (base: base, starts: bucketStarts, sizes: layout.bucketSizes)
        let (value, _) = try Tessera.valueAndGradient(of: model, gradientFinished: { [layout, communicator, reducingSeconds] index, gradient in
            gradient.withUnsafeBufferPointer { source in
                for bucket in layout.bucketsOfTensor[index] {
                    for segment in layout.buckets[bucket] where segment.tensor == index {
                        (buckets.base + buckets.starts[bucket] + segment.bucketOffset)
                            .update(from: source.baseAddress! + segment.tensorOffset, count: segment.count)
                    }
                    pending[bucket] -= 1
                    guard pending[bucket] == 0 else { continue }
                    communicator.startSum(buckets.base + buckets.starts[bucket], count: buckets.sizes[bucket]) { seconds in
                        reducingSeconds.value.withLock { $0 += seconds }
                    }
                }
            }
        }, function)
        let waitStart = DispatchTime.now().uptimeNanoseconds
        communicator.waitForPendingWork()
        lastReduction = ReductionTiming(
            reducing: reducingSeconds.value.withLock { $0 }, waiting: Double(DispatchTime.now().uptimeNanoseconds - waitStart) / 1e9)

        let scale = 1 / Float(communicator.size)
        var gradients = Gradients()
        for (index, (name, parameter)) in parameters.enumerated() {
            var gradient = Tensor.zeros(parameter.value.shape)
            gradient.withUnsafeMutableBufferPointer { target in
                for bucket in layout.bucketsOfTensor[index] {
                    for segment in layout.buckets[bucket] where segment.tensor == index {
                        let source = base + bucketStarts[bucket] + segment.bucketOffset
                        for offset in 0..<segment.count { target[segment.tensorOffset + offset] = source[offset] * scale }
                    }
                }
            }
            gradients[name] = gradient
        }
        return (value, gradients)
    }

    /// Gives every process rank 0's state (batch norm's running statistics) and counters,
    /// as DDP does before each forward pass; without synchronised batch norm each process
    /// otherwise tracks the statistics of its own batches.
    public func broadcastState() {
        for (_, parameter) in model.namedParameters() where parameter.isState {
            parameter.value = communicator.broadcast(parameter.value)
        }
        broadcastCounters()
    }

    /// Whether every process holds bit-identical parameters and state: a fingerprint of
    /// their bits, compared over the processes (cheap enough to check every few steps).
    public func replicasAgree() -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for (_, parameter) in model.namedParameters() {
            parameter.value.withUnsafeBufferPointer { values in
                for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01b3 }
            }
        }
        let range = communicator.range(of: Int64(bitPattern: hash))
        return range.lowerBound == range.upperBound
    }

    private func broadcastCounters() {
        let counters = model.allCounters()
        guard !counters.isEmpty else { return }
        var values = counters.map { Double($0.1.value) }
        if communicator.rank != 0 { values = values.map { _ in 0 } }
        communicator.sumOverReplicas(&values)
        for ((_, counter), value) in zip(counters, values) { counter.value = Int64(value) }
    }

    /// Lays out the buckets for `parameters` (again only when they changed, e.g. after
    /// freezing a block).
    private func prepareBuckets(for parameters: [(String, Parameter)]) {
        let currentNames = parameters.map(\.0)
        guard currentNames != names else { return }
        names = currentNames
        let sizes = parameters.map { $0.1.value.count }
        layout = BucketLayout(sizes: sizes, order: Array(sizes.indices.reversed()), capacity: bucketBytes / 4, firstCapacity: firstBucketBytes / 4)
        bucketStarts = layout.bucketSizes.reduce(into: [0]) { $0.append($0.last! + $1) }
        storage.deallocate()
        storage = .allocate(capacity: max(1, bucketStarts.last!))
    }

    private static func modules(of module: Module) -> [Module] {
        [module] + module.namedChildren().flatMap { modules(of: $0.1) }
    }
}

/// A sum that another thread adds to.
private final class Total: Sendable {
    let value = Mutex(0.0)
}

/// Where a data-parallel step's all-reduce time went.
public struct ReductionTiming: Sendable {
    /// Seconds the bucket all-reduces took in all.
    public let reducing: Double
    /// Seconds the step waited for them after its backward pass: the part not hidden
    /// behind computation.
    public let waiting: Double

    /// The fraction of the all-reduce time hidden behind the backward pass.
    public var hiddenFraction: Double {
        reducing > 0 ? max(0, 1 - waiting / reducing) : 1
    }
}
