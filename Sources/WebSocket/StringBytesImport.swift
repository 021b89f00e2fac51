// `String.withBytes` lives in the StringBytes module, which Switchboard uses too. An import in one
// file makes an extension's members visible in all of this module's files. (The fuzz targets
// compile its source into their own module instead.)
#if canImport(StringBytes)
import StringBytes
#endif
