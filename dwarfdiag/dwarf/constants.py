"""DWARF numbers as IntEnums: tags, attributes and forms (DWARF 2-5 plus Go's).

Only what the loader and the encoder name in code is listed; unknown values
still pass through as plain ints and print as hex.
"""

from __future__ import annotations

from enum import IntEnum


class Tag(IntEnum):
    array_type = 0x01
    class_type = 0x02
    entry_point = 0x03
    enumeration_type = 0x04
    formal_parameter = 0x05
    imported_declaration = 0x08
    label = 0x0A
    lexical_block = 0x0B
    member = 0x0D
    pointer_type = 0x0F
    reference_type = 0x10
    compile_unit = 0x11
    string_type = 0x12
    structure_type = 0x13
    subroutine_type = 0x15
    typedef = 0x16
    union_type = 0x17
    unspecified_parameters = 0x18
    variant = 0x19
    common_block = 0x1A
    common_inclusion = 0x1B
    inheritance = 0x1C
    inlined_subroutine = 0x1D
    module = 0x1E
    ptr_to_member_type = 0x1F
    set_type = 0x20
    subrange_type = 0x21
    with_stmt = 0x22
    access_declaration = 0x23
    base_type = 0x24
    catch_block = 0x25
    const_type = 0x26
    constant = 0x27
    enumerator = 0x28
    file_type = 0x29
    friend = 0x2A
    namelist = 0x2B
    namelist_item = 0x2C
    packed_type = 0x2D
    subprogram = 0x2E
    template_type_parameter = 0x2F
    template_value_parameter = 0x30
    thrown_type = 0x31
    try_block = 0x32
    variant_part = 0x33
    variable = 0x34
    volatile_type = 0x35
    dwarf_procedure = 0x36
    restrict_type = 0x37
    interface_type = 0x38
    namespace = 0x39
    imported_module = 0x3A
    unspecified_type = 0x3B
    partial_unit = 0x3C
    imported_unit = 0x3D
    condition = 0x3F
    shared_type = 0x40
    type_unit = 0x41
    rvalue_reference_type = 0x42
    template_alias = 0x43
    coarray_type = 0x44
    generic_subrange = 0x45
    dynamic_type = 0x46
    atomic_type = 0x47
    call_site = 0x48
    call_site_parameter = 0x49
    skeleton_unit = 0x4A
    immutable_type = 0x4B
    GNU_template_parameter_pack = 0x4107
    GNU_formal_parameter_pack = 0x4108
    GNU_call_site = 0x4109
    GNU_call_site_parameter = 0x410A


def tag_name(tag: int) -> str:
    try:
        return "DW_TAG_" + Tag(tag).name
    except ValueError:
        return f"DW_TAG_{tag:#x}"


class At(IntEnum):
    sibling = 0x01
    location = 0x02
    name = 0x03
    byte_size = 0x0B
    bit_offset = 0x0C
    bit_size = 0x0D
    low_pc = 0x11
    high_pc = 0x12
    language = 0x13
    comp_dir = 0x1B
    const_value = 0x1C
    inline = 0x20
    producer = 0x25
    prototyped = 0x27
    count = 0x37
    upper_bound = 0x2F
    abstract_origin = 0x31
    data_member_location = 0x38
    decl_file = 0x3A
    decl_line = 0x3B
    declaration = 0x3C
    encoding = 0x3E
    external = 0x3F
    frame_base = 0x40
    specification = 0x47
    ranges = 0x55
    call_file = 0x58
    call_line = 0x59
    type = 0x49
    variable_parameter = 0x4B
    data_bit_offset = 0x6B
    linkage_name = 0x6E
    str_offsets_base = 0x72
    addr_base = 0x73
    loclists_base = 0x8C
    MIPS_linkage_name = 0x2007
    go_kind = 0x2900
    go_key = 0x2901
    go_elem = 0x2902
    go_embedded_field = 0x2903
    go_runtime_type = 0x2904
    go_package_name = 0x2905
    go_dict_index = 0x2906
    go_closure_offset = 0x2907


class Form(IntEnum):
    addr = 0x01
    block2 = 0x03
    block4 = 0x04
    data2 = 0x05
    data4 = 0x06
    data8 = 0x07
    string = 0x08
    block = 0x09
    block1 = 0x0A
    data1 = 0x0B
    flag = 0x0C
    sdata = 0x0D
    strp = 0x0E
    udata = 0x0F
    ref_addr = 0x10
    ref1 = 0x11
    ref2 = 0x12
    ref4 = 0x13
    ref8 = 0x14
    ref_udata = 0x15
    indirect = 0x16
    sec_offset = 0x17
    exprloc = 0x18
    flag_present = 0x19
    strx = 0x1A
    addrx = 0x1B
    ref_sup4 = 0x1C
    strp_sup = 0x1D
    data16 = 0x1E
    line_strp = 0x1F
    ref_sig8 = 0x20
    implicit_const = 0x21
    loclistx = 0x22
    rnglistx = 0x23
    ref_sup8 = 0x24
    strx1 = 0x25
    strx2 = 0x26
    strx3 = 0x27
    strx4 = 0x28
    addrx1 = 0x29
    addrx2 = 0x2A
    addrx3 = 0x2B
    addrx4 = 0x2C
    GNU_addr_index = 0x1F01
    GNU_str_index = 0x1F02
    GNU_ref_alt = 0x1F20
    GNU_strp_alt = 0x1F21


# DW_ATE_* base type encodings the encoder distinguishes.
ATE_boolean = 0x02
ATE_complex_float = 0x03
ATE_float = 0x04
ATE_signed = 0x05
ATE_signed_char = 0x06
ATE_unsigned = 0x07
ATE_unsigned_char = 0x08
