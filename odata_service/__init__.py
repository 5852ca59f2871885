"""org360's OData v4 service over the published golden records, for Salesforce Connect."""
