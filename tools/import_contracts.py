"""An import-linter contract: listed packages may import only the standard library.

The built-in `forbidden` contract needs every third-party package named up front, so a new
dependency could slip into the domain unnoticed. This contract turns the rule around: any
external import that is not part of the standard library breaks it.
"""

from __future__ import annotations

import sys
from typing import cast

import grimp
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain.imports import Module


class StandardLibraryOnlyContract(Contract):
    type_name = "stdlib_only"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.ModuleField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        sources = [module.name for module in cast(list[Module], self.source_modules)]
        allowed = {module.name for module in cast(list[Module], self.allowed_modules or [])}
        allowed.update(sources)
        importers = set()
        for source in sources:
            importers.add(source)
            importers.update(graph.find_descendants(source))

        violations = []
        for importer in sorted(importers):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                top = imported.split(".")[0]
                if top in sys.stdlib_module_names or top in allowed:
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                lines: list[int | str] = [d["line_number"] for d in details] or ["?"]
                violations.append((importer, imported, lines))

        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["violations"]:
            where = ", ".join(f"l.{line}" for line in lines)
            output.print_error(f"{importer} imports {imported} ({where})", bold=False)
        output.new_line()
