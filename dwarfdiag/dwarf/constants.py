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


# names spelled once per number: provenance asks per DIE, diff per attribute
_TAG_NAMES: dict[int, str] = {}
_ATTR_NAMES: dict[int, str] = {}


def _spelled(names: dict[int, str], numbers, prefix: str, number: int) -> str:
    name = names.get(number)
    if name is None:
        try:
            name = prefix + numbers(number).name
        except ValueError:
            name = f"{prefix}{number:#x}"
        names[number] = name
    return name


def tag_name(tag: int) -> str:
    return _spelled(_TAG_NAMES, Tag, "DW_TAG_", tag)


def attr_name(at: int) -> str:
    return _spelled(_ATTR_NAMES, At, "DW_AT_", at)


class At(IntEnum):
    """DWARF 5 attributes, plus the GNU and Go ones compilers here emit."""

    sibling = 0x0001
    location = 0x0002
    name = 0x0003
    ordering = 0x0009
    byte_size = 0x000b
    bit_offset = 0x000c
    bit_size = 0x000d
    stmt_list = 0x0010
    low_pc = 0x0011
    high_pc = 0x0012
    language = 0x0013
    discr = 0x0015
    discr_value = 0x0016
    visibility = 0x0017
    import_ = 0x0018
    string_length = 0x0019
    common_reference = 0x001a
    comp_dir = 0x001b
    const_value = 0x001c
    containing_type = 0x001d
    default_value = 0x001e
    inline = 0x0020
    is_optional = 0x0021
    lower_bound = 0x0022
    producer = 0x0025
    prototyped = 0x0027
    return_addr = 0x002a
    start_scope = 0x002c
    bit_stride = 0x002e
    upper_bound = 0x002f
    abstract_origin = 0x0031
    accessibility = 0x0032
    address_class = 0x0033
    artificial = 0x0034
    base_types = 0x0035
    calling_convention = 0x0036
    count = 0x0037
    data_member_location = 0x0038
    decl_column = 0x0039
    decl_file = 0x003a
    decl_line = 0x003b
    declaration = 0x003c
    discr_list = 0x003d
    encoding = 0x003e
    external = 0x003f
    frame_base = 0x0040
    friend = 0x0041
    identifier_case = 0x0042
    macro_info = 0x0043
    namelist_item = 0x0044
    priority = 0x0045
    segment = 0x0046
    specification = 0x0047
    static_link = 0x0048
    type = 0x0049
    use_location = 0x004a
    variable_parameter = 0x004b
    virtuality = 0x004c
    vtable_elem_location = 0x004d
    allocated = 0x004e
    associated = 0x004f
    data_location = 0x0050
    byte_stride = 0x0051
    entry_pc = 0x0052
    use_UTF8 = 0x0053
    extension = 0x0054
    ranges = 0x0055
    trampoline = 0x0056
    call_column = 0x0057
    call_file = 0x0058
    call_line = 0x0059
    description = 0x005a
    binary_scale = 0x005b
    decimal_scale = 0x005c
    small = 0x005d
    decimal_sign = 0x005e
    digit_count = 0x005f
    picture_string = 0x0060
    mutable = 0x0061
    threads_scaled = 0x0062
    explicit = 0x0063
    object_pointer = 0x0064
    endianity = 0x0065
    elemental = 0x0066
    pure = 0x0067
    recursive = 0x0068
    signature = 0x0069
    main_subprogram = 0x006a
    data_bit_offset = 0x006b
    const_expr = 0x006c
    enum_class = 0x006d
    linkage_name = 0x006e
    string_length_bit_size = 0x006f
    string_length_byte_size = 0x0070
    rank = 0x0071
    str_offsets_base = 0x0072
    addr_base = 0x0073
    rnglists_base = 0x0074
    dwo_name = 0x0076
    reference = 0x0077
    rvalue_reference = 0x0078
    macros = 0x0079
    call_all_calls = 0x007a
    call_all_source_calls = 0x007b
    call_all_tail_calls = 0x007c
    call_return_pc = 0x007d
    call_value = 0x007e
    call_origin = 0x007f
    call_parameter = 0x0080
    call_pc = 0x0081
    call_tail_call = 0x0082
    call_target = 0x0083
    call_target_clobbered = 0x0084
    call_data_location = 0x0085
    call_data_value = 0x0086
    noreturn = 0x0087
    alignment = 0x0088
    export_symbols = 0x0089
    deleted = 0x008a
    defaulted = 0x008b
    loclists_base = 0x008c
    MIPS_linkage_name = 0x2007
    GNU_locviews = 0x2137
    GNU_entry_view = 0x2138
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
