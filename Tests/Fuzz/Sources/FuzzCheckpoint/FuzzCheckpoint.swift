import Foundation
import Tessera
import TesseraSegmentation

// A checkpoint's bytes, its metadata above all (model configuration, class mapping,
// counters), are read into a model or rejected with one of the documented errors.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    do {
        _ = try Checkpoint.decode(bytes.map { Data(bytes: $0, count: count) } ?? Data(), path: "input")
    } catch is SafeTensorsError, is CheckpointError, is ModuleLoadingError {
    } catch {
        fatalError("unexpected error: \(error)")
    }
    return 0
}
