/// How the gradients of a model's parameters are packed into buckets of at most
/// `capacity` floats for all-reduce (PyTorch DDP's buckets, ≈ 25 MB by default): tensors
/// in the order given (reverse order of use, so that the first buckets fill first during
/// the backward pass), several small ones sharing a bucket, a large one split over
/// several. As in DDP, the first bucket may be smaller, so that communication starts
/// early in the backward pass even for a model whose gradients fit in one bucket.
public struct BucketLayout: Equatable, Sendable {
    /// A run of one tensor's elements placed in a bucket.
    public struct Segment: Equatable, Sendable {
        /// The tensor's position in the sizes the layout was made from.
        public let tensor: Int
        /// Where the run starts in the tensor.
        public let tensorOffset: Int
        /// Where the run starts in the bucket.
        public let bucketOffset: Int
        public let count: Int
    }

    /// The segments of each bucket, in bucket order.
    public let buckets: [[Segment]]
    /// For each tensor, the buckets that hold part of it.
    public let bucketsOfTensor: [[Int]]

    /// Packs tensors of `sizes` elements, taken in the order of `order` (indices into
    /// `sizes`), into buckets of at most `capacity` elements, the first of at most
    /// `firstCapacity` (by default `capacity`).
    public init(sizes: [Int], order: [Int], capacity: Int, firstCapacity: Int? = nil) {
        precondition(capacity > 0 && (firstCapacity ?? 1) > 0, "BucketLayout: capacities must be positive")
        var buckets: [[Segment]] = [], current: [Segment] = [], filled = 0
        var limit = firstCapacity ?? capacity
        var bucketsOfTensor = [[Int]](repeating: [], count: sizes.count)
        for tensor in order {
            var placed = 0
            while placed < sizes[tensor] {
                if filled == limit {
                    buckets.append(current)
                    (current, filled, limit) = ([], 0, capacity)
                }
                let count = min(sizes[tensor] - placed, limit - filled)
                current.append(Segment(tensor: tensor, tensorOffset: placed, bucketOffset: filled, count: count))
                bucketsOfTensor[tensor].append(buckets.count)
                (placed, filled) = (placed + count, filled + count)
            }
        }
        if !current.isEmpty { buckets.append(current) }
        self.buckets = buckets
        self.bucketsOfTensor = bucketsOfTensor
    }

    /// The number of floats each bucket holds.
    public var bucketSizes: [Int] {
        buckets.map { $0.last.map { $0.bucketOffset + $0.count } ?? 0 }
    }
}
