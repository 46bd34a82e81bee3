import TesseraCommands

// An input is a command line, one argument per line: it parses and validates, or is
// refused with an error; the command is never run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : count), as: UTF8.self)
    let arguments = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    _ = try? TesseraCommand.parseAsRoot(arguments)
    return 0
}
