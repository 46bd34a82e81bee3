extension Tensor {
    /// Applies `operation` to each pair of elements of two tensors of equal shape.
    static func zipElements(
        _ lhs: Tensor, _ rhs: Tensor, operator name: String, _ operation: (Float, Float) -> Float
    ) -> Tensor {
        precondition(
            lhs.shape == rhs.shape,
            "Tensor \(name): shapes \(lhs.shape) and \(rhs.shape) differ")
        let result = Tensor(uninitializedShape: lhs.shape)
        let a = lhs.storage.pointer, b = rhs.storage.pointer, c = result.storage.pointer
        for index in 0..<lhs.count {
            c[index] = operation(a[index], b[index])
        }
        return result
    }

    /// Applies `transform` to every element.
    public func map(_ transform: (Float) -> Float) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        let a = storage.pointer, c = result.storage.pointer
        for index in 0..<count {
            c[index] = transform(a[index])
        }
        return result
    }

    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { zipElements(lhs, rhs, operator: "+", +) }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { zipElements(lhs, rhs, operator: "-", -) }
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { zipElements(lhs, rhs, operator: "*", *) }
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { zipElements(lhs, rhs, operator: "/", /) }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 + rhs } }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 - rhs } }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 * rhs } }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 / rhs } }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    public static prefix func - (operand: Tensor) -> Tensor { operand.map { -$0 } }

    public static func += (lhs: inout Tensor, rhs: Tensor) { lhs = lhs + rhs }
    public static func -= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs - rhs }
    public static func *= (lhs: inout Tensor, rhs: Float) { lhs = lhs * rhs }
}
