; Scopes and definitions: generator and comprehension variables are visible
; in their body; a reference's first name may use one.

(source_file) @local.scope
(generator) @local.scope
(list_comprehension) @local.scope
(map_comprehension) @local.scope

(generator variable: (identifier) @local.definition)
(generator index: (identifier) @local.definition)
(comprehension_head variable: (identifier) @local.definition)
(comprehension_head index: (identifier) @local.definition)

(project_declaration name: (identifier) @local.definition)
(schema_declaration name: (identifier) @local.definition)
(module_declaration name: (identifier) @local.definition)
(instance_declaration name: (identifier) @local.definition)

(reference . (identifier) @local.reference)
(interpolation . (identifier) @local.reference)
(type_name (identifier) @local.reference)
