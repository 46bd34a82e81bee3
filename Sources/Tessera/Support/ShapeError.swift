import Synchronization

/// A tensor whose shape does not fit the operation it was given to, thrown by
/// ``withError(_:)``: the operation and both shapes, in the words a stopped program would
/// print (`Conv2d: input [1, 1, 8, 8] needs [N, 3, H, W]`).
public struct ShapeError: Error, Equatable, CustomStringConvertible {
    public let description: String
}

/// Runs `body` so that a shape mismatch in a model or a tensor operation throws a
/// ``ShapeError`` instead of stopping the program, as mlx-swift's `withError` does.
///
/// Inside the scope, an operation whose operands do not fit records the mismatch and
/// returns zeros of the shape it would have returned (untracked), so the code after it
/// runs on; when `body` returns, the first mismatch is thrown. The operations that check
/// this way are those a model's author composes: elementwise arithmetic and broadcasting,
/// `matmul`, `reshaped`, `flattened`, `permuted`, row slicing and gathering, `concatenate`,
/// reductions and softmax along an axis, the losses, and the layers' input checks
/// (`Conv2d`, `ConvTranspose2d`, `Linear`, `BatchNorm2d`, `GroupNorm`, `LayerNorm`,
/// `GlobalAvgPool2d`, `Flatten`). A mismatch
/// that only a mistake inside the engine could cause still stops the program, inside the
/// scope as outside it.
///
/// ```swift
/// do {
///     let (loss, gradients) = try withError { valueAndGradient(of: model) { loss($0(x), y) } }
/// } catch let error as ShapeError {
///     print("the model does not fit its input: \(error)")
/// }
/// ```
public func withError<Result>(_ body: () throws -> Result) throws -> Result {
    let recorder = ShapeErrorRecorder()
    let result = try ShapeErrorRecorder.$active.withValue(recorder) {
        do { return try body() } catch { throw recorder.first ?? error }
    }
    if let first = recorder.first { throw first }
    return result
}

/// The first shape mismatch recorded in a ``withError(_:)`` scope.
final class ShapeErrorRecorder: Sendable {
    @TaskLocal static var active: ShapeErrorRecorder?

    private let recorded = Mutex<ShapeError?>(nil)

    var first: ShapeError? { recorded.withLock { $0 } }

    func record(_ message: String) {
        recorded.withLock { if $0 == nil { $0 = ShapeError(description: message) } }
    }
}

/// Whether a shape `condition` holds. When it does not: inside a ``withError(_:)`` scope
/// the mismatch is recorded and the caller returns a placeholder; outside, the program
/// stops with `message`, as ``require(_:_:file:line:)`` does.
@inlinable @inline(__always)
package func checkShape(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) -> Bool {
    if condition() { return true }
    return recordShapeMismatch(message(), file: file, line: line)
}

/// Records `message` in the active ``withError(_:)`` scope and returns false, or stops the
/// program with it where no scope is active.
@usableFromInline
package func recordShapeMismatch(_ message: String, file: StaticString, line: UInt) -> Bool {
    guard let recorder = ShapeErrorRecorder.active else { fatalError(message, file: file, line: line) }
    recorder.record(message)
    return false
}
