"""Edm primitive type names used across the service (CSDL 4.0)."""

STRING = "Edm.String"
INT16 = "Edm.Int16"
INT32 = "Edm.Int32"
INT64 = "Edm.Int64"
DOUBLE = "Edm.Double"
DECIMAL = "Edm.Decimal"
BOOLEAN = "Edm.Boolean"
DATE = "Edm.Date"
DATETIMEOFFSET = "Edm.DateTimeOffset"
INTEGER_TYPES = frozenset({INT16, INT32, INT64})
NUMERIC_TYPES = INTEGER_TYPES | {DOUBLE, DECIMAL}
