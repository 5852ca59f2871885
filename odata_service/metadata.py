"""`$metadata`: the CSDL XML document (OData 4.0) generated from the bound model."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from odata_service.model import Model, Property
from odata_service.schema import CONTAINER, NAMESPACE

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"


def csdl_xml(model: Model) -> bytes:
    ET.register_namespace("edmx", EDMX_NS)
    edmx = ET.Element(f"{{{EDMX_NS}}}Edmx", {"Version": "4.0"})
    services = ET.SubElement(edmx, f"{{{EDMX_NS}}}DataServices")
    schema = ET.SubElement(services, "Schema", {"xmlns": EDM_NS, "Namespace": NAMESPACE})
    for entity_set in model.entity_sets.values():
        entity_type = ET.SubElement(schema, "EntityType", {"Name": entity_set.type_name})
        key = ET.SubElement(entity_type, "Key")
        ET.SubElement(key, "PropertyRef", {"Name": entity_set.key.name})
        for prop in entity_set.properties.values():
            ET.SubElement(entity_type, "Property", _property_attributes(prop))
        for nav in entity_set.navigation.values():
            target = model.entity_sets[nav.target]
            type_name = f"{NAMESPACE}.{target.type_name}"
            attributes = {"Name": nav.name, "Type": f"Collection({type_name})"}
            if not nav.many:
                attributes["Type"] = type_name
                attributes["Nullable"] = "true"
            if nav.partner:
                attributes["Partner"] = nav.partner
            element = ET.SubElement(entity_type, "NavigationProperty", attributes)
            if not nav.many:
                for ours, theirs in nav.on:
                    ET.SubElement(
                        element,
                        "ReferentialConstraint",
                        {"Property": ours, "ReferencedProperty": theirs},
                    )
    container = ET.SubElement(schema, "EntityContainer", {"Name": CONTAINER})
    for entity_set in model.entity_sets.values():
        element = ET.SubElement(
            container,
            "EntitySet",
            {"Name": entity_set.name, "EntityType": f"{NAMESPACE}.{entity_set.type_name}"},
        )
        for nav in entity_set.navigation.values():
            ET.SubElement(
                element, "NavigationPropertyBinding", {"Path": nav.name, "Target": nav.target}
            )
    return ET.tostring(edmx, encoding="utf-8", xml_declaration=True)


def _property_attributes(prop: Property) -> dict[str, str]:
    attributes = {"Name": prop.name, "Type": prop.edm_type}
    if not prop.nullable:
        attributes["Nullable"] = "false"
    if prop.max_length is not None:
        attributes["MaxLength"] = str(prop.max_length)
    if prop.precision is not None:
        attributes["Precision"] = str(prop.precision)
    if prop.scale is not None:
        attributes["Scale"] = str(prop.scale)
    return attributes
