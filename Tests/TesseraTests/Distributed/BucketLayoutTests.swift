import Testing
import TesseraDistributed

@Suite("gradient buckets")
struct BucketLayoutTests {
    /// Packs tensors filled with their index and position into buckets and back.
    static func roundTrip(_ sizes: [Int], capacity: Int) -> (layout: BucketLayout, tensors: [[Float]]) {
        let layout = BucketLayout(sizes: sizes, order: Array(sizes.indices.reversed()), capacity: capacity)
        var buckets = layout.bucketSizes.map { [Float](repeating: .nan, count: $0) }
        for (bucket, segments) in layout.buckets.enumerated() {
            for segment in segments {
                for offset in 0..<segment.count {
                    buckets[bucket][segment.bucketOffset + offset] = Float(segment.tensor * 100_000 + segment.tensorOffset + offset)
                }
            }
        }
        var tensors = sizes.map { [Float](repeating: .nan, count: $0) }
        for (bucket, segments) in layout.buckets.enumerated() {
            for segment in segments {
                for offset in 0..<segment.count {
                    tensors[segment.tensor][segment.tensorOffset + offset] = buckets[bucket][segment.bucketOffset + offset]
                }
            }
        }
        return (layout, tensors)
    }

    @Test("a tensor larger than a bucket is split over several and joined back whole")
    func largeTensorSplits() {
        let (layout, tensors) = Self.roundTrip([3, 2500, 5], capacity: 1000)
        #expect(layout.bucketSizes == [1000, 1000, 508])
        #expect(layout.bucketsOfTensor == [[2], [0, 1, 2], [0]])
        for (index, tensor) in tensors.enumerated() {
            #expect(tensor == (0..<tensor.count).map { Float(index * 100_000 + $0) })
        }
    }

    @Test("a smaller first bucket starts the layout; the rest take the full capacity")
    func smallerFirstBucket() {
        let layout = BucketLayout(sizes: [300, 300, 300], order: [2, 1, 0], capacity: 500, firstCapacity: 100)
        #expect(layout.bucketSizes == [100, 500, 300])
        #expect(layout.bucketsOfTensor == [[2], [1], [0, 1]])
    }

    @Test("many small tensors share buckets, filled in the given order, none over capacity")
    func smallTensorsShare() {
        let sizes = (0..<100).map { 1 + $0 % 7 }
        let (layout, tensors) = Self.roundTrip(sizes, capacity: 64)
        #expect(layout.bucketSizes.allSatisfy { $0 <= 64 })
        #expect(layout.bucketSizes.reduce(0, +) == sizes.reduce(0, +))
        #expect(layout.buckets.first?.first?.tensor == 99)
        for (index, tensor) in tensors.enumerated() {
            #expect(tensor == (0..<tensor.count).map { Float(index * 100_000 + $0) })
        }
    }
}
