#pragma once

#include <ffi.h>
#include <stdint.h>

/* libffi's built-in type descriptors are global variables; Swift cannot take their addresses safely, so these
 * return stable pointers to them. */
static inline ffi_type *toolhost_ffi_void(void) { return &ffi_type_void; }
static inline ffi_type *toolhost_ffi_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *toolhost_ffi_sint8(void) { return &ffi_type_sint8; }
static inline ffi_type *toolhost_ffi_uint16(void) { return &ffi_type_uint16; }
static inline ffi_type *toolhost_ffi_sint16(void) { return &ffi_type_sint16; }
static inline ffi_type *toolhost_ffi_uint32(void) { return &ffi_type_uint32; }
static inline ffi_type *toolhost_ffi_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *toolhost_ffi_uint64(void) { return &ffi_type_uint64; }
static inline ffi_type *toolhost_ffi_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *toolhost_ffi_float(void) { return &ffi_type_float; }
static inline ffi_type *toolhost_ffi_double(void) { return &ffi_type_double; }
static inline ffi_type *toolhost_ffi_pointer(void) { return &ffi_type_pointer; }

/* The C bool the host passes for a `bool` parameter (C99 _Bool is one byte on every supported ABI). */
static inline ffi_type *toolhost_ffi_bool(void) { return &ffi_type_uint8; }

/* size_t for a buffer's length. */
static inline ffi_type *toolhost_ffi_size(void) { return sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32; }
