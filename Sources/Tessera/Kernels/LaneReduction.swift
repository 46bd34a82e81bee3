/// Sums over contiguous floats kept in 16 independent lanes.
///
/// A plain `total += x[i]` loop is one chain of dependent additions (the compiler may not
/// reorder floating-point sums), so it runs at one addition per adder latency, several
/// times below memory speed. Sixteen partial sums pipeline instead. The summation order
/// therefore differs from a left-to-right loop (and is, if anything, more accurate).
/// Products are formed with a multiply and an add, not `addingProduct`: the baseline
/// x86-64 target has no FMA instruction, and a fused multiply-add would become a library
/// call per lane.
enum LaneReduction {
    typealias Lanes = LaneAccess.Lanes

    /// `Σ x[i]`.
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = Lanes()
        var index = 0
        while index + Lanes.scalarCount <= count {
            lanes += LaneAccess.load(x + index)
            index += Lanes.scalarCount
        }
        var total = lanes.sum()
        while index < count {
            total += x[index]
            index += 1
        }
        return total
    }

    /// `Σ (x[i] − centre)²`.
    static func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, count: Int, from centre: Float) -> Float {
        var lanes = Lanes()
        var index = 0
        while index + Lanes.scalarCount <= count {
            let deviation = LaneAccess.load(x + index) - centre
            lanes += deviation * deviation
            index += Lanes.scalarCount
        }
        var total = lanes.sum()
        while index < count {
            let deviation = x[index] - centre
            total += deviation * deviation
            index += 1
        }
        return total
    }

    /// `(Σ g[i], Σ g[i]·(x[i] − centre))` with `g = dy`, or with `g = dy · [y > 0]` when a
    /// rectified output `y` is given (the gradient through a fused ReLU).
    static func gradientSums(
        _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rectifiedOutput y: UnsafePointer<Float>?,
        count: Int, centre: Float
    ) -> (gradient: Float, gradientTimesDeviation: Float) {
        var gradientLanes = Lanes(), productLanes = Lanes()
        var index = 0
        while index + Lanes.scalarCount <= count {
            let g = loadGradient(dy, through: y, index)
            gradientLanes += g
            productLanes += g * (LaneAccess.load(x + index) - centre)
            index += Lanes.scalarCount
        }
        var gradientSum = gradientLanes.sum(), productSum = productLanes.sum()
        while index < count {
            let g = gradient(dy, through: y, index)
            gradientSum += g
            productSum += g * (x[index] - centre)
            index += 1
        }
        return (gradientSum, productSum)
    }

    /// Sixteen elements of `dy`, or of `dy · [y > 0]` (the gradient through a ReLU whose
    /// output is `y`) when `y` is given.
    @inline(__always)
    static func loadGradient(_ dy: UnsafePointer<Float>, through y: UnsafePointer<Float>?, _ index: Int) -> Lanes {
        var g = LaneAccess.load(dy + index)
        if let y { g.replace(with: 0, where: LaneAccess.load(y + index) .<= 0) }
        return g
    }

    /// One element of `dy`, or of `dy · [y > 0]` when `y` is given.
    @inline(__always)
    static func gradient(_ dy: UnsafePointer<Float>, through y: UnsafePointer<Float>?, _ index: Int) -> Float {
        guard let y else { return dy[index] }
        return y[index] > 0 ? dy[index] : 0
    }
}
