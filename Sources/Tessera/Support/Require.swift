/// Stops the program with `message` when `condition` is false — in every build
/// configuration. (`precondition` drops its message in optimized builds, leaving a user
/// with a bare trap; a shape mismatch must name the operation and both shapes.)
@inlinable @inline(__always)
package func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
