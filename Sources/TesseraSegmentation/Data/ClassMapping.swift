/// How raw mask values (gray levels, palette indices or packed RGB) map to classes.
///
/// Binary (`classes == 1`): 0 is background, any other value foreground. Multi-class:
/// the distinct values, sorted, are classes 0, 1, …; the mapping is stored in checkpoints
/// so that predictions can be written back with the original values.
public struct ClassMapping: Codable, Equatable, Sendable {
    /// Model output channels: 1 for binary, otherwise the number of classes.
    public let classes: Int
    /// For multi-class, the raw value of each class in order; for binary `[0, 255]` (the
    /// values predictions are written with).
    public let values: [Int]

    /// The binary mapping: 0 → background, anything else → foreground.
    public static let binary = ClassMapping(classes: 1, values: [0, 255])

    public init(classes: Int, values: [Int]) {
        self.classes = classes
        self.values = values
    }

    public var isBinary: Bool { classes == 1 }

    /// The number of label values a pixel can take (2 for binary).
    public var labelCount: Int { isBinary ? 2 : classes }

    /// The class of a raw value, or nil when the value is not one of the classes.
    public func label(of value: Int) -> Int32? {
        if isBinary { return value == 0 ? 0 : 1 }
        return values.firstIndex(of: value).map(Int32.init)
    }

    /// The raw value to write for a class.
    public func value(of label: Int32) -> Int {
        values[Int(label)]
    }
}
