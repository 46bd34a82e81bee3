/// Element-wise loops over contiguous floats in groups of 16 lanes.
///
/// The compiler keeps loops over several `UnsafeMutableBufferPointer`s scalar when the
/// buffers may alias, and a square root per element stays a scalar instruction plus a
/// branch for negative inputs. Written over `SIMD16<Float>` such a loop uses the vector
/// units; each lane computes exactly what the scalar loop would.
enum LaneAccess {
    typealias Lanes = SIMD16<Float>

    /// Calls `body(start, count)` for consecutive groups of at most 16 indices covering `range`.
    @inline(__always)
    static func forEachGroup(_ range: Range<Int>, _ body: (Int, Int) -> Void) {
        var start = range.lowerBound
        while start < range.upperBound {
            let count = min(Lanes.scalarCount, range.upperBound - start)
            body(start, count)
            start += count
        }
    }

    /// The 16 floats at `pointer`, which need no alignment.
    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(pointer).loadUnaligned(as: Lanes.self)
    }

    /// Writes the 16 lanes to `pointer`, which needs no alignment.
    @inline(__always)
    static func store(_ lanes: Lanes, to pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: lanes, as: Lanes.self)
    }

    /// The `count` (at most 16) floats at `pointer`, the remaining lanes zero.
    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>, count: Int) -> Lanes {
        if count == Lanes.scalarCount { return load(pointer) }
        var lanes = Lanes()
        for lane in 0..<count { lanes[lane] = pointer[lane] }
        return lanes
    }

    /// Writes the first `count` (at most 16) lanes to `pointer`.
    @inline(__always)
    static func store(_ lanes: Lanes, to pointer: UnsafeMutablePointer<Float>, count: Int) {
        if count == Lanes.scalarCount {
            store(lanes, to: pointer)
            return
        }
        for lane in 0..<count { pointer[lane] = lanes[lane] }
    }
}
