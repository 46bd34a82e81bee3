/// A height and a width, for kernel sizes, strides, paddings and dilations.
///
/// Literal-friendly: `3` means 3×3 and `[3, 1]` means height 3, width 1.
public struct Size2D: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// The same value for both dimensions.
    public init(_ both: Int) {
        self.init(both, both)
    }

    public init(integerLiteral value: Int) {
        self.init(value)
    }

    public init(arrayLiteral elements: Int...) {
        require(elements.count == 2, "Size2D: expected [height, width], got \(elements)")
        self.init(elements[0], elements[1])
    }

    public var description: String { "\(height)×\(width)" }
}
