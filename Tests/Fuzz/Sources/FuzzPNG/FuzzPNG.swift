import Foundation
import TesseraSegmentation

// Every input is decoded (header, then pixels) or rejected with an ImageFileError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    do {
        _ = try PNGFile.dimensions(data, path: "input")
        _ = try PNGFile.decode(data, path: "input")
    } catch is ImageFileError {
    } catch {
        fatalError("unexpected error: \(error)")
    }
    return 0
}
