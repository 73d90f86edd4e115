"""Models generated from the External Contacts OpenAPI contract. Do not edit.

Regenerate with ``python scripts/gen_models.py``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gcx.models.base import ApiModel


class AddressableEntityRef(ApiModel):
    """AddressableEntityRef (API schema)."""

    id: str | None = None
    selfUri: str | None = None


class AppleOpaqueId(ApiModel):
    """AppleOpaqueId (API schema)."""

    value: str | None = Field(
        default=None, description="Max: 255 characters. Leading and trailing whitespace stripped."
    )


class Biography(ApiModel):
    """Biography (API schema)."""

    biography: str | None = Field(default=None, description="Personal detailed description")
    interests: list[str] | None = None
    hobbies: list[str] | None = None
    spouse: str | None = None
    education: list[Education] | None = Field(default=None, description="User education details")


class BulkContactsEnrichRequest(ApiModel):
    """BulkContactsEnrichRequest (API schema)."""

    entities: list[ContactEnrichRequest] | None = None


class BulkContactsEnrichResponse(ApiModel):
    """BulkContactsEnrichResponse (API schema)."""

    results: (
        list[BulkResponseResultExternalContactContactEnrichRequestBulkEntityErrorContactEnrichRequest] | None
    ) = Field(
        default=None,
        description="A list of results for all of the Bulk operations specified in the request. Includes both successes and failures. Ordering is NOT guaranteed - may be in a different order from the request.",
    )
    errorCount: int | None = Field(
        default=None, description="The number of failed operations in the results."
    )
    errorIndexes: list[int] | None = Field(
        default=None, description="The indexes of all failed operations in the results field."
    )


class BulkContactsRequest(ApiModel):
    """BulkContactsRequest (API schema)."""

    entities: list[ExternalContact] | None = None


class BulkContactsResponse(ApiModel):
    """BulkContactsResponse (API schema)."""

    results: list[BulkResponseResultExternalContactExternalContactBulkEntityErrorExternalContact] | None = (
        Field(
            default=None,
            description="A list of results for all of the Bulk operations specified in the request. Includes both successes and failures. Ordering is NOT guaranteed - may be in a different order from the request.",
        )
    )
    errorCount: int | None = Field(
        default=None, description="The number of failed operations in the results."
    )
    errorIndexes: list[int] | None = Field(
        default=None, description="The indexes of all failed operations in the results field."
    )


class BulkDeleteResponse(ApiModel):
    """BulkDeleteResponse (API schema)."""

    results: list[BulkResponseResultVoidEntityBulkEntityErrorEntity] | None = Field(
        default=None,
        description="A list of results for all of the Bulk operations specified in the request. Includes both successes and failures. Ordering is NOT guaranteed - may be in a different order from the request.",
    )
    errorCount: int | None = Field(
        default=None, description="The number of failed operations in the results."
    )
    errorIndexes: list[int] | None = Field(
        default=None, description="The indexes of all failed operations in the results field."
    )


class BulkEntityErrorContactEnrichRequest(ApiModel):
    """BulkEntityErrorContactEnrichRequest (API schema)."""

    code: str | None = Field(default=None, description="An error code for the specific error condition.")
    message: str | None = Field(default=None, description="A short error message.")
    status: int | None = Field(default=None, description="The HTTP Status Code for the error.")
    retryable: bool | None = Field(
        default=None, description="Whether this particular error should be retried."
    )
    details: list[BulkErrorDetail] | None = Field(
        default=None, description="Additional error details for specific fields."
    )
    entity: ContactEnrichRequest | None = Field(
        default=None,
        description="The entity body specified in the Bulk request operation that caused this error.",
    )


class BulkEntityErrorEntity(ApiModel):
    """BulkEntityErrorEntity (API schema)."""

    code: str | None = Field(default=None, description="An error code for the specific error condition.")
    message: str | None = Field(default=None, description="A short error message.")
    status: int | None = Field(default=None, description="The HTTP Status Code for the error.")
    retryable: bool | None = Field(
        default=None, description="Whether this particular error should be retried."
    )
    details: list[BulkErrorDetail] | None = Field(
        default=None, description="Additional error details for specific fields."
    )
    entity: Entity | None = Field(
        default=None,
        description="The entity body specified in the Bulk request operation that caused this error.",
    )


class BulkEntityErrorExternalContact(ApiModel):
    """BulkEntityErrorExternalContact (API schema)."""

    code: str | None = Field(default=None, description="An error code for the specific error condition.")
    message: str | None = Field(default=None, description="A short error message.")
    status: int | None = Field(default=None, description="The HTTP Status Code for the error.")
    retryable: bool | None = Field(
        default=None, description="Whether this particular error should be retried."
    )
    details: list[BulkErrorDetail] | None = Field(
        default=None, description="Additional error details for specific fields."
    )
    entity: ExternalContact | None = Field(
        default=None,
        description="The entity body specified in the Bulk request operation that caused this error.",
    )


class BulkEntityErrorExternalOrganization(ApiModel):
    """BulkEntityErrorExternalOrganization (API schema)."""

    code: str | None = Field(default=None, description="An error code for the specific error condition.")
    message: str | None = Field(default=None, description="A short error message.")
    status: int | None = Field(default=None, description="The HTTP Status Code for the error.")
    retryable: bool | None = Field(
        default=None, description="Whether this particular error should be retried."
    )
    details: list[BulkErrorDetail] | None = Field(
        default=None, description="Additional error details for specific fields."
    )
    entity: ExternalOrganization | None = Field(
        default=None,
        description="The entity body specified in the Bulk request operation that caused this error.",
    )


class BulkEntityErrorExternalOrganizationEnrichRequest(ApiModel):
    """BulkEntityErrorExternalOrganizationEnrichRequest (API schema)."""

    code: str | None = Field(default=None, description="An error code for the specific error condition.")
    message: str | None = Field(default=None, description="A short error message.")
    status: int | None = Field(default=None, description="The HTTP Status Code for the error.")
    retryable: bool | None = Field(
        default=None, description="Whether this particular error should be retried."
    )
    details: list[BulkErrorDetail] | None = Field(
        default=None, description="Additional error details for specific fields."
    )
    entity: ExternalOrganizationEnrichRequest | None = Field(
        default=None,
        description="The entity body specified in the Bulk request operation that caused this error.",
    )


class BulkErrorDetail(ApiModel):
    """BulkErrorDetail (API schema)."""

    fieldName: str | None = Field(
        default=None, description="The name of the field which experienced an error."
    )
    value: str | None = Field(
        default=None, description="The field value from the request which caused the error."
    )
    message: str | None = Field(
        default=None, description="A field-specific error message describing why this operation was rejected."
    )


class BulkFetchContactsResponse(ApiModel):
    """BulkFetchContactsResponse (API schema)."""

    results: list[BulkResponseResultExternalContactEntityBulkEntityErrorEntity] | None = Field(
        default=None,
        description="A list of results for all of the Bulk operations specified in the request. Includes both successes and failures. Ordering is NOT guaranteed - may be in a different order from the request.",
    )
    errorCount: int | None = Field(
        default=None, description="The number of failed operations in the results."
    )
    errorIndexes: list[int] | None = Field(
        default=None, description="The indexes of all failed operations in the results field."
    )


class BulkFetchOrganizationsResponse(ApiModel):
    """BulkFetchOrganizationsResponse (API schema)."""

    results: list[BulkResponseResultExternalOrganizationEntityBulkEntityErrorEntity] | None = Field(
        default=None,
        description="A list of results for all of the Bulk operations specified in the request. Includes both successes and failures. Ordering is NOT guaranteed - may be in a different order from the request.",
    )
    errorCount: int | None = Field(
        default=None, description="The number of failed operations in the results."
    )
    errorIndexes: list[int] | None = Field(
        default=None, description="The indexes of all failed operations in the results field."
    )


class BulkIdsRequest(ApiModel):
    """BulkIdsRequest (API schema)."""

    entities: list[ExternalContactsEntity] | None = None


class BulkOrganizationsEnrichRequest(ApiModel):
    """BulkOrganizationsEnrichRequest (API schema)."""

    entities: list[ExternalOrganizationEnrichRequest] | None = None


class BulkOrganizationsEnrichResponse(ApiModel):
    """BulkOrganizationsEnrichResponse (API schema)."""

    results: (
        list[
            BulkResponseResultExternalOrganizationExternalOrganizationEnrichRequestBulkEntityErrorExternalOrganizationEnrichRequest
        ]
        | None
    ) = Field(
        default=None,
        description="A list of results for all of the Bulk operations specified in the request. Includes both successes and failures. Ordering is NOT guaranteed - may be in a different order from the request.",
    )
    errorCount: int | None = Field(
        default=None, description="The number of failed operations in the results."
    )
    errorIndexes: list[int] | None = Field(
        default=None, description="The indexes of all failed operations in the results field."
    )


class BulkOrganizationsRequest(ApiModel):
    """BulkOrganizationsRequest (API schema)."""

    entities: list[ExternalOrganization] | None = None


class BulkOrganizationsResponse(ApiModel):
    """BulkOrganizationsResponse (API schema)."""

    results: (
        list[BulkResponseResultExternalOrganizationExternalOrganizationBulkEntityErrorExternalOrganization]
        | None
    ) = Field(
        default=None,
        description="A list of results for all of the Bulk operations specified in the request. Includes both successes and failures. Ordering is NOT guaranteed - may be in a different order from the request.",
    )
    errorCount: int | None = Field(
        default=None, description="The number of failed operations in the results."
    )
    errorIndexes: list[int] | None = Field(
        default=None, description="The indexes of all failed operations in the results field."
    )


class BulkResponseResultExternalContactContactEnrichRequestBulkEntityErrorContactEnrichRequest(ApiModel):
    """BulkResponseResultExternalContactContactEnrichRequestBulkEntityErrorContactEnrichRequest (API schema)."""

    id: str | None = Field(
        default=None,
        description="The id associated with this operation. For Bulk Enrich, this id is specified in the request; for all other Bulk endpoints, this id is the id of the affected entity.",
    )
    success: bool | None = Field(
        default=None, description="Whether the requested operation completed successfully."
    )
    entity: ExternalContact | None = Field(
        default=None,
        description="The entity which was affected by this Bulk operation. Only returned on success.",
    )
    error: BulkEntityErrorContactEnrichRequest | None = Field(
        default=None,
        description="An error describing why this Bulk operation failed. Only returned on failure.",
    )
    status: int | None = Field(default=None, description="Status Code for the requested operation.")


class BulkResponseResultExternalContactEntityBulkEntityErrorEntity(ApiModel):
    """BulkResponseResultExternalContactEntityBulkEntityErrorEntity (API schema)."""

    id: str | None = Field(
        default=None,
        description="The id associated with this operation. For Bulk Enrich, this id is specified in the request; for all other Bulk endpoints, this id is the id of the affected entity.",
    )
    success: bool | None = Field(
        default=None, description="Whether the requested operation completed successfully."
    )
    entity: ExternalContact | None = Field(
        default=None,
        description="The entity which was affected by this Bulk operation. Only returned on success.",
    )
    error: BulkEntityErrorEntity | None = Field(
        default=None,
        description="An error describing why this Bulk operation failed. Only returned on failure.",
    )
    status: int | None = Field(default=None, description="Status Code for the requested operation.")


class BulkResponseResultExternalContactExternalContactBulkEntityErrorExternalContact(ApiModel):
    """BulkResponseResultExternalContactExternalContactBulkEntityErrorExternalContact (API schema)."""

    id: str | None = Field(
        default=None,
        description="The id associated with this operation. For Bulk Enrich, this id is specified in the request; for all other Bulk endpoints, this id is the id of the affected entity.",
    )
    success: bool | None = Field(
        default=None, description="Whether the requested operation completed successfully."
    )
    entity: ExternalContact | None = Field(
        default=None,
        description="The entity which was affected by this Bulk operation. Only returned on success.",
    )
    error: BulkEntityErrorExternalContact | None = Field(
        default=None,
        description="An error describing why this Bulk operation failed. Only returned on failure.",
    )
    status: int | None = Field(default=None, description="Status Code for the requested operation.")


class BulkResponseResultExternalOrganizationEntityBulkEntityErrorEntity(ApiModel):
    """BulkResponseResultExternalOrganizationEntityBulkEntityErrorEntity (API schema)."""

    id: str | None = Field(
        default=None,
        description="The id associated with this operation. For Bulk Enrich, this id is specified in the request; for all other Bulk endpoints, this id is the id of the affected entity.",
    )
    success: bool | None = Field(
        default=None, description="Whether the requested operation completed successfully."
    )
    entity: ExternalOrganization | None = Field(
        default=None,
        description="The entity which was affected by this Bulk operation. Only returned on success.",
    )
    error: BulkEntityErrorEntity | None = Field(
        default=None,
        description="An error describing why this Bulk operation failed. Only returned on failure.",
    )
    status: int | None = Field(default=None, description="Status Code for the requested operation.")


class BulkResponseResultExternalOrganizationExternalOrganizationBulkEntityErrorExternalOrganization(ApiModel):
    """BulkResponseResultExternalOrganizationExternalOrganizationBulkEntityErrorExternalOrganization (API schema)."""

    id: str | None = Field(
        default=None,
        description="The id associated with this operation. For Bulk Enrich, this id is specified in the request; for all other Bulk endpoints, this id is the id of the affected entity.",
    )
    success: bool | None = Field(
        default=None, description="Whether the requested operation completed successfully."
    )
    entity: ExternalOrganization | None = Field(
        default=None,
        description="The entity which was affected by this Bulk operation. Only returned on success.",
    )
    error: BulkEntityErrorExternalOrganization | None = Field(
        default=None,
        description="An error describing why this Bulk operation failed. Only returned on failure.",
    )
    status: int | None = Field(default=None, description="Status Code for the requested operation.")


class BulkResponseResultExternalOrganizationExternalOrganizationEnrichRequestBulkEntityErrorExternalOrganizationEnrichRequest(
    ApiModel
):
    """BulkResponseResultExternalOrganizationExternalOrganizationEnrichRequestBulkEntityErrorExternalOrganizationEnrichRequest (API schema)."""

    id: str | None = Field(
        default=None,
        description="The id associated with this operation. For Bulk Enrich, this id is specified in the request; for all other Bulk endpoints, this id is the id of the affected entity.",
    )
    success: bool | None = Field(
        default=None, description="Whether the requested operation completed successfully."
    )
    entity: ExternalOrganization | None = Field(
        default=None,
        description="The entity which was affected by this Bulk operation. Only returned on success.",
    )
    error: BulkEntityErrorExternalOrganizationEnrichRequest | None = Field(
        default=None,
        description="An error describing why this Bulk operation failed. Only returned on failure.",
    )
    status: int | None = Field(default=None, description="Status Code for the requested operation.")


class BulkResponseResultVoidEntityBulkEntityErrorEntity(ApiModel):
    """BulkResponseResultVoidEntityBulkEntityErrorEntity (API schema)."""

    id: str | None = Field(
        default=None,
        description="The id associated with this operation. For Bulk Enrich, this id is specified in the request; for all other Bulk endpoints, this id is the id of the affected entity.",
    )
    success: bool | None = Field(
        default=None, description="Whether the requested operation completed successfully."
    )
    entity: Any | None = Field(
        default=None,
        description="The entity which was affected by this Bulk operation. Only returned on success.",
    )
    error: BulkEntityErrorEntity | None = Field(
        default=None,
        description="An error describing why this Bulk operation failed. Only returned on failure.",
    )
    status: int | None = Field(default=None, description="Status Code for the requested operation.")


class Chat(ApiModel):
    """Chat (API schema)."""

    jabberId: str | None = None


class Contact(ApiModel):
    """Contact (API schema)."""

    address: str | None = Field(
        default=None, description="Email address or phone number for this contact type"
    )
    display: str | None = Field(default=None, description="Formatted version of the address property")
    mediaType: str | None = Field(default=None, description="One of: PHONE, EMAIL, SMS.")
    type: str | None = Field(
        default=None,
        description="The type of this contact entry. Note: the PRIMARY email address cannot be changed via PATCH /api/v2/users/{userId}; submitting a modified value for the PRIMARY entry returns a 400 error. One of: PRIMARY, WORK, WORK2, WORK3, WORK4, HOME, MOBILE, MAIN, OTHER.",
    )
    extension: str | None = Field(
        default=None,
        description="Use internal extension instead of address. Mutually exclusive with the address field.",
    )
    countryCode: str | None = None
    integration: str | None = Field(
        default=None,
        description="Integration tag value if this number is associated with an external integration.",
    )


class ContactAddress(ApiModel):
    """ContactAddress (API schema)."""

    address1: str | None = Field(
        default=None, description="Max: 200 characters. Leading and trailing whitespace stripped."
    )
    address2: str | None = Field(
        default=None, description="Max: 200 characters. Leading and trailing whitespace stripped."
    )
    city: str | None = Field(
        default=None, description="Max: 100 characters. Leading and trailing whitespace stripped."
    )
    state: str | None = Field(
        default=None, description="Max: 50 characters. Leading and trailing whitespace stripped."
    )
    postalCode: str | None = Field(
        default=None, description="Max: 25 characters. Leading and trailing whitespace stripped."
    )
    countryCode: str | None = Field(
        default=None, description="Max: 25 characters. Leading and trailing whitespace stripped."
    )


class ContactAddressableEntityRef(ApiModel):
    """ContactAddressableEntityRef (API schema)."""

    id: str | None = None
    selfUri: str | None = None


class ContactEnrichOptions(ApiModel):
    """ContactEnrichOptions (API schema)."""

    promote: bool | None = Field(
        default=None,
        description="If true, any matched contact will have its type updated to Curated. If false, any matched contact will keep its original type in the operation.",
    )


class ContactEnrichRequest(ApiModel):
    """ContactEnrichRequest (API schema)."""

    id: str | None = Field(
        default=None,
        description="A user-specified tracker string, only useful in the Bulk-Enrich API. If one Bulk-Enrich operation in a request fails, the requested operation will be repeated in the Bulk API response, including this id field, allowing associating of request and response operations.",
    )
    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    matchingIdentifiers: list[ContactIdentifier] | None = Field(
        default=None,
        description="An ordered list of one or more Identifiers which might each be claimed by a Contact. `action` describes what to do with any possibly matching Contacts. Identifier lookups will occur in the order specified here. Between 1 and 25.",
    )
    action: str | None = Field(
        default=None,
        description="The action that should be taken based on any Contacts found by `matchingIdentifiers`. One of: Merge, Upsert, Update, Insert.",
    )
    contact: ExternalContact | None = Field(
        default=None,
        description="Data to be added, either as an update to an existing Contact or the body of a new Contact. Omitting a field in this contract means that it will be treated as null in the `fieldRules` logic.",
    )
    fieldRules: EnrichFieldRules | None = Field(
        default=None,
        description="Logic describing how to combine data from the submitted request with data found in the database.",
    )
    options: ContactEnrichOptions | None = Field(
        default=None, description="Additional options modifying the behavior of the API operation."
    )


class ContactIdentifier(ApiModel):
    """ContactIdentifier (API schema)."""

    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    type: str | None = Field(
        default=None,
        description="The type of this identifier One of: SocialLine, SocialFacebook, SocialTwitter, SocialWhatsapp, SocialInstagram, SocialWhatsappBsuid, AppleOpaqueId, Email, Phone, Cookie, ExternalId, SocialInstagramHandle.",
    )
    value: str | None = Field(
        default=None,
        description="The string value of the identifier. Will vary in syntax by type. Max: 255 characters. Leading and trailing whitespace stripped.",
    )
    dateCreated: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    externalSource: ExternalSource | None = Field(
        default=None, description="The External Source ID of the identifier"
    )


class ContactIdentifierListing(ApiModel):
    """ContactIdentifierListing (API schema)."""

    entities: list[ContactIdentifier] | None = None


class ContactListing(ApiModel):
    """ContactListing (API schema)."""

    entities: list[ExternalContact] | None = None
    pageSize: int | None = None
    pageNumber: int | None = None
    total: int | None = None
    partialResults: bool | None = None
    firstUri: str | None = None
    selfUri: str | None = None
    nextUri: str | None = None
    lastUri: str | None = None
    previousUri: str | None = None
    pageCount: int | None = None


class ContactSearchOperation(ApiModel):
    """ContactSearchOperation (API schema)."""

    simpleSearch: ContactSimpleSearch | None = Field(
        default=None, description="Simple Search operation to execute"
    )


class ContactSearchRequest(ApiModel):
    """ContactSearchRequest (API schema)."""

    pageNumber: int | None = Field(
        default=None,
        description="Page number (limited to fetching first 1,000 records; pageNumber * pageSize must be <= 1,000)",
    )
    pageSize: int | None = Field(
        default=None,
        description="Page size (limited to fetching first 1,000 records; pageNumber * pageSize must be <= 1,000)",
    )
    divisionIds: list[str] | None = Field(default=None, description="Which divisions to search, up to 50")
    expand: list[str] | None = Field(default=None, description="Which fields, if any, to expand")
    operation: ContactSearchOperation | None = Field(
        default=None, description="Search operation to execute, currently supports {@code simpleSearch} only."
    )


class ContactSimpleSearch(ApiModel):
    """ContactSimpleSearch (API schema)."""

    query: str | None = Field(
        default=None, description="User supplied search keywords (no special syntax is currently supported)"
    )
    sortOrder: list[str] | None = Field(
        default=None,
        description='The External Contact field to sort by. Any of: [firstName, lastName, middleName, title]. Direction: [asc, desc]. e.g. "firstName:asc", "title:desc"',
    )
    ids: list[str] | None = Field(
        default=None,
        description="List of External Contact ids to exact match in search result. Optional filter, up to 100",
    )


class ContactsPatchChange(ApiModel):
    """ContactsPatchChange (API schema)."""

    field: str | None = Field(
        default=None,
        description='A JSONPath string, whose syntax is a strict subset of the JSONPath RFC 9535. The root of the field string must be "$." indicating a path from the root of the entity. You may only use dot-notation to access named fields. Examples: To select the `firstName` field, use: "$.firstName".To access object fields, use the top level object field name: "$.address". To access nested field names, use the nested field name: "$.address.city". Note: trying to patch both nested fields and their parent field is not allowed and will result in a 409 error response.',
    )
    value: Any | None = Field(
        default=None,
        description="The value which is applied to the selected field for the patch. Acceptable types are String, Integer, Boolean, Array, Map.",
    )
    action: str | None = Field(
        default=None,
        description="The action of the operation.UpdateIfEmpty: Update if and only if the current value is emptyUpdate: Update the field unconditionally.UpdateIfExists: Update the field if and only if the existing field is not empty.AppendToCollection: Add new items to a collection, preserving existing data.Remove: Remove the current value unconditionally.RemoveFromCollection: Remove specified value from a collection. One of: UpdateIfEmpty, UpdateIfExists, Update, AppendToCollection, Remove, RemoveFromCollection.",
    )


class CursorContactListing(ApiModel):
    """CursorContactListing (API schema)."""

    entities: list[ExternalContact] | None = None
    nextUri: str | None = None
    selfUri: str | None = None
    previousUri: str | None = None
    cursors: Cursors | None = Field(
        default=None, description="The cursor that points to the next set of entities being returned."
    )


class CursorExternalSourceListing(ApiModel):
    """CursorExternalSourceListing (API schema)."""

    entities: list[ExternalSource] | None = None
    nextUri: str | None = None
    selfUri: str | None = None
    previousUri: str | None = None
    cursors: Cursors | None = Field(
        default=None, description="The cursor that points to the next set of entities being returned."
    )


class CursorOrganizationListing(ApiModel):
    """CursorOrganizationListing (API schema)."""

    entities: list[ExternalOrganization] | None = None
    nextUri: str | None = None
    selfUri: str | None = None
    previousUri: str | None = None
    cursors: Cursors | None = Field(
        default=None, description="The cursor that points to the next set of entities being returned."
    )


class Cursors(ApiModel):
    """Cursors (API schema)."""

    before: str | None = None
    after: str | None = None


class DataSchema(ApiModel):
    """DataSchema (API schema)."""

    id: str | None = Field(
        default=None,
        description="The globally unique identifier for the schema. Only required if a schema is used for custom fields during external entity creation or updates.",
    )
    name: str | None = None
    version: int | None = Field(
        default=None, description="The schema's version, a positive integer. Required for updates."
    )
    appliesTo: list[str] | None = Field(
        default=None, description="Indicates the built-in entity type to which this schema applies."
    )
    enabled: bool | None = Field(
        default=None,
        description="The schema's enabled/disabled status. A disabled schema cannot be assigned to any other entities, but the data on those entities from the schema still exists.",
    )
    createdBy: DomainEntityRef | None = Field(
        default=None, description="The URI of the user that created this schema."
    )
    dateCreated: str | None = Field(
        default=None,
        description="The date and time this schema version was created. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    jsonSchema: JsonSchemaDocument | None = Field(
        default=None, description="A JSON schema defining the extension to the built-in entity type."
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class Detail(ApiModel):
    """Detail (API schema)."""

    errorCode: str | None = None
    fieldName: str | None = None
    entityId: str | None = None
    entityName: str | None = None


class Division(ApiModel):
    """Division (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")


class DomainEntityRef(ApiModel):
    """DomainEntityRef (API schema)."""

    id: str | None = None
    name: str | None = None
    selfUri: str | None = None


class DomainRole(ApiModel):
    """DomainRole (API schema)."""

    id: str | None = Field(default=None, description="The ID of the role")
    name: str | None = Field(default=None, description="The name of the role")


class Education(ApiModel):
    """Education (API schema)."""

    school: str | None = None
    fieldOfStudy: str | None = None
    notes: str | None = Field(default=None, description="Notes about education has a 2000 character limit")
    dateStart: str | None = Field(
        default=None, description="Dates are represented as an ISO-8601 string. For example: yyyy-MM-dd"
    )
    dateEnd: str | None = Field(
        default=None, description="Dates are represented as an ISO-8601 string. For example: yyyy-MM-dd"
    )


class EmployerInfo(ApiModel):
    """EmployerInfo (API schema)."""

    officialName: str | None = None
    employeeId: str | None = None
    employeeType: str | None = None
    dateHire: str | None = None


class EnrichFieldRule(ApiModel):
    """EnrichFieldRule (API schema)."""

    field: str | None = Field(
        default=None,
        description="A restricted JSONPath naming the specific field this combining behavior should apply to. Only dot notation with alphanumeric characters and underscores (e.g., $.address.address1, $.externalOrganization, $.tickers) are allowed. Bracket notation, array indexing, wildcards, sublists, and filter expressions are not permitted.",
    )
    action: str | None = Field(
        default=None,
        description="The behavior for how to combine data from the request body and the database. One of: AlwaysUseProvided, PreferExisting, PreferProvided.",
    )
    arrayAction: str | None = Field(
        default=None,
        description="The behavior for how to combine items in array field from the request body and the database. One of: Replace, Extend, Fill.",
    )


class EnrichFieldRules(ApiModel):
    """EnrichFieldRules (API schema)."""

    defaultAction: str | None = Field(
        default=None,
        description="Default behavior for combining data from the submitted request with any entity found in the database. The default behavior if unspecified is `PreferProvided`, meaning any non-null fields in the submitted request will override data in the database, but all null fields will remain unchanged. Omitting a field in the request payload means that it will be treated as null. One of: AlwaysUseProvided, PreferExisting, PreferProvided.",
    )
    rules: list[EnrichFieldRule] | None = Field(
        default=None,
        description="Field-specific behaviors for how to combine data from different sources. For example, you can set a `defaultAction` of `PreferProvided`, but use different behaviors such as `AlwaysUseProvided` or `PreferExisting` for specific fields.",
    )
    defaultArrayAction: str | None = Field(
        default=None,
        description="Default behavior for combining items in array field from the submitted request with any array entity found in the database. The default behavior if unspecified is `fill`, meaning the field value will always be the partial concatenation of both the array in the Database and the array in the contact body, up to the size limit of the array One of: Replace, Extend, Fill.",
    )


class Entity(ApiModel):
    """Entity (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")


class ErrorBody(ApiModel):
    """ErrorBody (API schema)."""

    message: str | None = None
    code: str | None = None
    status: int | None = None
    entityId: str | None = None
    entityName: str | None = None
    messageWithParams: str | None = None
    messageParams: dict[str, str] | None = None
    contextId: str | None = None
    details: list[Detail] | None = None
    errors: list[ErrorBody] | None = None
    limit: Limit | None = None


class ExternalContact(ApiModel):
    """ExternalContact (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    firstName: str | None = Field(
        default=None,
        description="The first name of the contact. Max: 1000 characters. Leading and trailing whitespace stripped.",
    )
    middleName: str | None = Field(
        default=None,
        description="The middle name of the contact. Max: 1000 characters. Leading and trailing whitespace stripped.",
    )
    lastName: str | None = Field(
        default=None,
        description="The last name of the contact. Max: 1000 characters. Leading and trailing whitespace stripped.",
    )
    salutation: str | None = Field(
        default=None,
        description="The salutation of the contact. Max: 1000 characters. Leading and trailing whitespace stripped.",
    )
    title: str | None = Field(
        default=None,
        description="The title of the contact. Max: 1000 characters. Leading and trailing whitespace stripped.",
    )
    workPhone: PhoneNumber | None = None
    cellPhone: PhoneNumber | None = None
    homePhone: PhoneNumber | None = None
    otherPhone: PhoneNumber | None = None
    workEmail: str | None = Field(
        default=None,
        description="The work email of the contact. Max: 256 characters. Leading and trailing whitespace stripped. Valid email format",
    )
    personalEmail: str | None = Field(
        default=None,
        description="The personal email of the contact. Max: 256 characters. Leading and trailing whitespace stripped. Valid email format",
    )
    otherEmail: str | None = Field(
        default=None,
        description="The other email of the contact. Max: 256 characters. Leading and trailing whitespace stripped. Valid email format",
    )
    address: ContactAddress | None = None
    twitterId: TwitterId | None = Field(default=None, description="User information for a Twitter account")
    lineId: LineId | None = None
    whatsAppId: WhatsAppId | None = Field(default=None, description="User information for a WhatsApp account")
    facebookId: FacebookId | None = Field(default=None, description="User information for a Facebook account")
    instagramId: InstagramId | None = Field(
        default=None, description="User information for an Instagram account"
    )
    appleOpaqueIds: list[AppleOpaqueId] | None = Field(
        default=None, description="User information for an Apple account. Max: 10 ids"
    )
    externalIds: list[ExternalId] | None = Field(
        default=None,
        description="A list of external identifiers that identify this contact in an external system. Max: 10 ids",
    )
    identifiers: list[ContactIdentifier] | None = Field(
        default=None, description="Identifiers claimed by this contact"
    )
    modifyDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    createDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    externalOrganization: ExternalOrganization | None = None
    surveyOptOut: bool | None = None
    externalSystemUrl: str | None = Field(
        default=None,
        description="A string that identifies an external system-of-record resource that may have more detailed information on the contact. Should be a valid URL (including the http/https protocol, port, and path [if any]). Leading and trailing whitespace stripped. Max 1000 characters.",
    )
    schema_: DataSchema | None = Field(
        default=None, alias="schema", description="The schema defining custom fields for this contact"
    )
    customFields: dict[str, Any] | None = Field(
        default=None,
        description="Custom fields defined in the schema referenced by schemaId and schemaVersion.",
    )
    externalDataSources: list[ExternalDataSource] | None = Field(
        default=None,
        description="Links to the sources of data (e.g. one source might be a CRM) that contributed data to this record. Read-only, and only populated when requested via expand param.",
    )
    type: str | None = Field(
        default=None, description="The type of contact One of: Ephemeral, Identified, Curated."
    )
    canonicalContact: ContactAddressableEntityRef | None = Field(
        default=None,
        description="The contact at the head of the merge tree. If null, this contact is not a part of any merge.",
    )
    mergeSet: list[ContactAddressableEntityRef] | None = Field(
        default=None,
        description="The set of all contacts that are a part of the merge tree. If null, this contact is not a part of any merge.",
    )
    mergedFrom: list[ContactAddressableEntityRef] | None = Field(
        default=None, description="The input contacts from the merge operation."
    )
    mergedTo: ContactAddressableEntityRef | None = Field(
        default=None, description="The output contact from the merge operation."
    )
    mergeOperation: MergeOperation | None = Field(
        default=None,
        description="(Deprecated: use mergedTo and mergedFrom instead) Information about the merge history of this contact. If null, this contact is not a part of any merge.",
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class ExternalContactsEntity(ApiModel):
    """ExternalContactsEntity (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")


class ExternalContactsPatchRequest(ApiModel):
    """ExternalContactsPatchRequest (API schema)."""

    changes: list[ContactsPatchChange] | None = Field(
        default=None, description="A list of changes to apply to the provided entity"
    )


class ExternalDataSource(ApiModel):
    """ExternalDataSource (API schema)."""

    platform: str | None = Field(
        default=None,
        description="The platform that was the source of the data. Example: a CRM like SALESFORCE. One of: SALESFORCE.",
    )
    url: str | None = Field(
        default=None,
        description="An URL that links to the source record that contributed data to the associated entity.",
    )


class ExternalId(ApiModel):
    """ExternalId (API schema)."""

    externalSource: ExternalSource | None = Field(
        default=None,
        description="The external source of the identifier. Max: 255 characters. Leading and trailing whitespace stripped.",
    )
    value: str | None = Field(
        default=None,
        description="The string value of the identifier. Max: 255 characters. Leading and trailing whitespace stripped.",
    )


class ExternalOrganization(ApiModel):
    """ExternalOrganization (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = Field(
        default=None,
        description="The name of the company. Max: 1000 characters. Leading and trailing whitespace stripped.",
    )
    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    companyType: str | None = None
    industry: str | None = None
    address: ContactAddress | None = None
    phoneNumber: PhoneNumber | None = None
    faxNumber: PhoneNumber | None = None
    employeeCount: int | None = None
    revenue: int | None = None
    tags: list[str] | None = None
    websites: list[str] | None = None
    tickers: list[Ticker] | None = None
    twitterId: TwitterId | None = None
    externalSystemUrl: str | None = Field(
        default=None,
        description="A string that identifies an external system-of-record resource that may have more detailed information on the organization. It should be a valid URL (including the http/https protocol, port, and path [if any]). The value is automatically trimmed of any leading and trailing whitespace.",
    )
    modifyDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    createDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    trustor: Trustor | None = None
    schema_: DataSchema | None = Field(
        default=None, alias="schema", description="The schema defining custom fields for this contact"
    )
    customFields: dict[str, Any] | None = Field(
        default=None,
        description="Custom fields defined in the schema referenced by schemaId and schemaVersion.",
    )
    identifiers: list[ExternalOrganizationIdentifier] | None = Field(
        default=None, description="Identifiers claimed by this external org"
    )
    externalIds: list[ExternalId] | None = Field(
        default=None,
        description="A list of external identifiers that identify this External Organization in an external system. Max 10 items.",
    )
    externalDataSources: list[ExternalDataSource] | None = Field(
        default=None,
        description="Links to the sources of data (e.g. one source might be a CRM) that contributed data to this record. Read-only, and only populated when requested via expand param.",
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class ExternalOrganizationEnrichRequest(ApiModel):
    """ExternalOrganizationEnrichRequest (API schema)."""

    id: str | None = Field(
        default=None,
        description="A user-specified tracker string, only useful in the Bulk-Enrich API. If one Bulk-Enrich operation in a request fails, the requested operation will be repeated in the Bulk API response, including this id field, allowing associating request and response operations.",
    )
    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    matchingIdentifiers: list[ExternalOrganizationIdentifier] | None = Field(
        default=None,
        description="An ordered list of one or more Identifiers which might each be claimed by an External Organization. `action` describes what to do with any possibly matching External Organization. Identifier lookups will occur in the order specified here.",
    )
    action: str | None = Field(
        default=None,
        description="The action that should be taken based on any External Organization found by `matchingIdentifiers`. One of: Upsert, Update, Insert.",
    )
    externalOrganization: ExternalOrganization | None = Field(
        default=None,
        description="Data to be added, either as an update to an existing External Organization or the body of a new External Organization. Omitting a field in this contract means that it will be treated as null in the `fieldRules` logic.",
    )
    fieldRules: EnrichFieldRules | None = Field(
        default=None,
        description="Logic describing how to combine data from the submitted request with data found in the database.",
    )


class ExternalOrganizationIdentifier(ApiModel):
    """ExternalOrganizationIdentifier (API schema)."""

    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    type: str | None = Field(default=None, description="The type of this identifier One of: ExternalId.")
    value: str | None = Field(
        default=None,
        description="The string value of the identifier. Will vary in syntax by type. Max: 255 characters.",
    )
    dateCreated: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    externalSource: ExternalSource | None = Field(
        default=None, description="The External Source ID of the identifier"
    )


class ExternalOrganizationIdentifierClaimRequest(ApiModel):
    """ExternalOrganizationIdentifierClaimRequest (API schema)."""

    operation: str | None = Field(
        default=None, description="The operation to perform claim/release One of: Claim, Release."
    )
    identifier: ExternalOrganizationIdentifier | None = Field(
        default=None, description="The identifier that should be claimed/released from an external org"
    )


class ExternalOrganizationIdentifierListing(ApiModel):
    """ExternalOrganizationIdentifierListing (API schema)."""

    entities: list[ExternalOrganizationIdentifier] | None = None


class ExternalOrganizationListing(ApiModel):
    """ExternalOrganizationListing (API schema)."""

    entities: list[ExternalOrganization] | None = None
    pageSize: int | None = None
    pageNumber: int | None = None
    total: int | None = None
    partialResults: bool | None = None
    lastUri: str | None = None
    firstUri: str | None = None
    selfUri: str | None = None
    nextUri: str | None = None
    previousUri: str | None = None
    pageCount: int | None = None


class ExternalOrganizationTrustorLink(ApiModel):
    """ExternalOrganizationTrustorLink (API schema)."""

    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    externalOrganizationId: str | None = Field(
        default=None,
        description="The id of a PureCloud External Organization entity in the External Contacts system that will be used to represent the trustor org",
    )
    trustorOrgId: str | None = Field(
        default=None,
        description="The id of a PureCloud organization that has granted trust to this PureCloud organization",
    )
    dateCreated: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    externalOrganizationUri: str | None = Field(
        default=None, description="The URI for the External Organization that is linked to the trustor org"
    )


class ExternalSource(ApiModel):
    """ExternalSource (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = Field(
        default=None,
        description="The name of the external source. Must be unique. Max: 200 characters. Leading and trailing whitespace stripped.",
    )
    active: bool | None = None
    linkConfiguration: LinkConfiguration | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")


class FacebookId(ApiModel):
    """FacebookId (API schema)."""

    ids: list[FacebookScopedId] | None = Field(
        default=None,
        description="The set of scopedIds that this person has. Each scopedId is specific to a page or app that the user interacts with. Max: 1 Id",
    )
    displayName: str | None = Field(
        default=None,
        description="The displayName of this person's Facebook account. Roughly translates to user.first_name + ' ' + user.last_name in the Facebook API. Max: 100 characters.",
    )


class FacebookScopedId(ApiModel):
    """FacebookScopedId (API schema)."""

    scopedId: str | None = Field(
        default=None, description="The unique page/app-specific scopedId for the user. Max: 255 characters."
    )


class Geolocation(ApiModel):
    """Geolocation (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    type: str | None = Field(
        default=None,
        description="A string used to describe the type of client the geolocation is being updated from e.g. ios, android, web, etc.",
    )
    primary: bool | None = Field(
        default=None,
        description="A boolean used to tell whether or not to set this geolocation client as the primary on a PATCH",
    )
    latitude: float | None = None
    longitude: float | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    locations: list[LocationDefinition] | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")


class Group(ApiModel):
    """Group (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = Field(default=None, description="The group name.")
    description: str | None = None
    dateModified: str | None = Field(
        default=None,
        description="Last modified date/time. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    memberCount: int | None = Field(default=None, description="Number of members.")
    state: str | None = Field(
        default=None, description="Active, inactive, or deleted state. One of: active, inactive, deleted."
    )
    version: int | None = Field(default=None, description="Current version for this resource.")
    type: str | None = Field(default=None, description="Type of group. One of: official, social.")
    images: list[Image] | None = None
    addresses: list[GroupContact] | None = None
    rulesVisible: bool | None = Field(
        default=None, description="Are membership rules visible to the person requesting to view the group"
    )
    visibility: str | None = Field(
        default=None, description="Who can view this group One of: public, owners, members."
    )
    rolesEnabled: bool | None = Field(default=None, description="Allow roles to be assigned to this group")
    includeOwners: bool | None = Field(
        default=None, description="Allow owners to be included as members of the group"
    )
    callsEnabled: bool | None = Field(default=None, description="Allow calls to be placed to this group.")
    email: str | None = Field(default=None, description="Email address for the group.")
    owners: list[User] | None = Field(default=None, description="Owners of the group")
    selfUri: str | None = Field(default=None, description="The URI for this object")


class GroupContact(ApiModel):
    """GroupContact (API schema)."""

    address: str | None = Field(default=None, description="Phone number for this contact type")
    extension: str | None = Field(default=None, description="Extension is set if the number is e164 valid")
    display: str | None = Field(default=None, description="Formatted version of the address property")
    type: str | None = Field(
        default=None, description="Contact type of the address One of: GROUPRING, GROUPPHONE."
    )
    mediaType: str | None = Field(default=None, description="Media type of the address One of: PHONE.")


class IdentifierClaimRequest(ApiModel):
    """IdentifierClaimRequest (API schema)."""

    operation: str | None = Field(
        default=None, description="The operation to perform claim/release One of: Claim, Release."
    )
    identifier: ContactIdentifier | None = Field(
        default=None, description="The identifier that should be claimed/released from a contact"
    )


class Image(ApiModel):
    """Image (API schema)."""

    resolution: str | None = Field(
        default=None, description="Height and/or width of image. ex: 640x480 or x128"
    )
    imageUri: str | None = None


class InstagramId(ApiModel):
    """InstagramId (API schema)."""

    ids: list[InstagramScopedId] | None = Field(
        default=None,
        description="The set of scopedIds that this person has. Each scopedId is specific to an Instagram page or app that the user interacts with. Max 1 id.",
    )
    displayName: str | None = Field(
        default=None,
        description="The displayName of the person who owns this Instagram account. Max: 100 characters.",
    )
    handle: str | None = Field(
        default=None,
        description="The handle of the person who owns this Instagram account. Max: 100 characters.",
    )


class InstagramScopedId(ApiModel):
    """InstagramScopedId (API schema)."""

    scopedId: str | None = Field(
        default=None,
        description="The unique page/app-specific scopedId for the user. Max: 255 characters. Leading and trailing whitespace stripped.",
    )


class JsonSchemaDocument(ApiModel):
    """JsonSchemaDocument (API schema)."""

    id: str | None = None
    dollar_schema: str | None = Field(default=None, alias="$schema")
    title: str | None = None
    description: str | None = None
    type: str | None = None
    required: list[str] | None = None
    properties: dict[str, Any] | None = None
    additionalProperties: Any | None = None


class Limit(ApiModel):
    """Limit (API schema)."""

    key: str | None = None
    namespace: str | None = None
    value: int | None = None


class LineId(ApiModel):
    """LineId (API schema)."""

    ids: list[LineUserId] | None = Field(
        default=None,
        description="The set of Line userIds that this person has. Each userId is specific to the Line channel that the user interacts with. Max 1 Id.",
    )
    displayName: str | None = Field(
        default=None, description="The displayName of this person's account in Line. Max: 100 characters."
    )


class LineUserId(ApiModel):
    """LineUserId (API schema)."""

    userId: str | None = Field(
        default=None, description="The unique channel-specific userId for the user. Max: 255 characters."
    )


class LinkConfiguration(ApiModel):
    """LinkConfiguration (API schema)."""

    uriTemplate: str | None = Field(
        default=None,
        description="Should be a valid URL (including the http/https protocol, port, and path [if any]). Leading and trailing whitespace stripped. Max 400 characters.",
    )


class Location(ApiModel):
    """Location (API schema)."""

    id: str | None = Field(default=None, description="Unique identifier for the location")
    floorplanId: str | None = Field(
        default=None, description="Unique identifier for the location floorplan image"
    )
    coordinates: dict[str, float] | None = Field(
        default=None, description="Users coordinates on the floorplan. Only used when floorplanImage is set"
    )
    notes: str | None = Field(default=None, description="Optional description on the users location")
    locationDefinition: LocationDefinition | None = None


class LocationAddress(ApiModel):
    """LocationAddress (API schema)."""

    city: str | None = None
    country: str | None = None
    countryName: str | None = None
    state: str | None = None
    street1: str | None = None
    street2: str | None = None
    zipcode: str | None = None


class LocationAddressVerificationDetails(ApiModel):
    """LocationAddressVerificationDetails (API schema)."""

    status: str | None = Field(
        default=None,
        description="Status of address verification process One of: Pending, InProgress, Retry, Complete, Failed.",
    )
    dateFinished: str | None = Field(
        default=None,
        description="Finished time of address verification process. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    dateStarted: str | None = Field(
        default=None,
        description="Time started of address verification process. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    service: str | None = Field(default=None, description="Third party service used for address verification")


class LocationDefinition(ApiModel):
    """LocationDefinition (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    contactUser: AddressableEntityRef | None = Field(
        default=None, description="Site contact for the location entity"
    )
    emergencyNumber: LocationEmergencyNumber | None = Field(
        default=None, description="Emergency number for the location entity"
    )
    address: LocationAddress | None = None
    state: str | None = Field(
        default=None, description="Current state of the location entity One of: active, deleted."
    )
    notes: str | None = Field(default=None, description="Notes for the location entity")
    version: int | None = Field(
        default=None,
        description="Current version of the location entity, value to be supplied should be retrieved by a GET or on create/update response",
    )
    path: list[str] | None = Field(default=None, description="A list of ancestor IDs in order")
    profileImage: list[LocationImage] | None = Field(
        default=None,
        description="Profile image of the location entity, retrieved with ?expand=images query parameter",
    )
    floorplanImage: list[LocationImage] | None = Field(
        default=None,
        description="Floorplan images of the location entity, retrieved with ?expand=images query parameter",
    )
    addressVerificationDetails: LocationAddressVerificationDetails | None = Field(
        default=None,
        description="Address verification information, retrieve dwith the ?expand=addressVerificationDetails query parameter",
    )
    addressVerified: bool | None = Field(
        default=None,
        description="Boolean field which states if the address has been verified as an actual address",
    )
    addressStored: bool | None = Field(
        default=None, description="Boolean field which states if the address has been stored for E911"
    )
    images: str | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")


class LocationEmergencyNumber(ApiModel):
    """LocationEmergencyNumber (API schema)."""

    e164: str | None = None
    number: str | None = None
    type: str | None = Field(default=None, description="The type of emergency number. One of: default, elin.")


class LocationImage(ApiModel):
    """LocationImage (API schema)."""

    resolution: str | None = Field(
        default=None, description="Height and/or width of image. ex: 640x480 or x128"
    )
    imageUri: str | None = None


class MediaSummary(ApiModel):
    """MediaSummary (API schema)."""

    contactCenter: MediaSummaryDetail | None = None
    enterprise: MediaSummaryDetail | None = None


class MediaSummaryDetail(ApiModel):
    """MediaSummaryDetail (API schema)."""

    active: int | None = None
    acw: int | None = None


class MergeContactsRequest(ApiModel):
    """MergeContactsRequest (API schema)."""

    contactIds: list[str] | None = Field(
        default=None,
        description="The IDs of all contacts involved in the merge operation (must be between 2 and 25).",
    )
    valueOverride: ExternalContact | None = Field(
        default=None,
        description="Override data to set for specific Contact fields after a merge. Any null fields in `valueOverride` will not replace existing data.",
    )


class MergeOperation(ApiModel):
    """MergeOperation (API schema)."""

    sourceContact: AddressableEntityRef | None = Field(
        default=None, description="The source contact for the merge operation"
    )
    targetContact: AddressableEntityRef | None = Field(
        default=None, description="The target contact for the merge operation"
    )
    resultingContact: AddressableEntityRef | None = Field(
        default=None, description="The contact created as a result of the merge operation"
    )


class MergeRequest(ApiModel):
    """MergeRequest (API schema)."""

    sourceContactId: str | None = Field(
        default=None, description="The ID of the source contact for the merge operation"
    )
    targetContactId: str | None = Field(
        default=None, description="The ID of the target contact for the merge operation"
    )


class Note(ApiModel):
    """Note (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    entityId: str | None = Field(
        default=None,
        description="The id of the contact or organization to which this note refers. This only needs to be set for input when using the Bulk APIs.",
    )
    entityType: str | None = Field(
        default=None,
        description="This is only need to be set when using Bulk API. Using any other value than contact or organization will result in null being used. One of: contact, organization.",
    )
    noteText: str | None = Field(default=None, description="Between 1 and 32,000 characters.")
    modifyDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    createDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    createdBy: User | None = Field(
        default=None,
        description="When creating or updating a note, only User.id is required. User object is fully populated when expanding a note.",
    )
    externalDataSources: list[ExternalDataSource] | None = Field(
        default=None,
        description="Links to the sources of data (e.g. one source might be a CRM) that contributed data to this record. Read-only, and only populated when requested via expand param.",
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class NoteListing(ApiModel):
    """NoteListing (API schema)."""

    entities: list[Note] | None = None
    pageSize: int | None = None
    pageNumber: int | None = None
    total: int | None = None
    partialResults: bool | None = None
    lastUri: str | None = None
    firstUri: str | None = None
    selfUri: str | None = None
    nextUri: str | None = None
    previousUri: str | None = None
    pageCount: int | None = None


class OAuthLastTokenIssued(ApiModel):
    """OAuthLastTokenIssued (API schema)."""

    dateIssued: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )


class OrgUser(ApiModel):
    """OrgUser (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    division: Division | None = Field(default=None, description="The division to which this entity belongs.")
    chat: Chat | None = None
    department: str | None = None
    email: str | None = None
    primaryContactInfo: list[Contact] | None = Field(
        default=None, description="Auto populated from addresses."
    )
    addresses: list[Contact] | None = Field(
        default=None, description="Email addresses and phone numbers for this user"
    )
    state: str | None = Field(
        default=None, description="The current state for this user. One of: active, inactive, deleted."
    )
    title: str | None = None
    username: str | None = None
    manager: User | None = None
    images: list[Image] | None = None
    version: int | None = Field(
        default=None,
        description="Required when updating a user, this value should be the current version of the user. The current version can be obtained with a GET on the user before doing a PATCH.",
    )
    certifications: list[str] | None = None
    biography: Biography | None = None
    employerInfo: EmployerInfo | None = None
    preferredName: str | None = Field(default=None, description="Preferred full name of the agent")
    routingStatus: RoutingStatus | None = Field(default=None, description="ACD routing status")
    presence: UserPresence | None = Field(default=None, description="Active presence")
    integrationPresence: UserPresence | None = Field(default=None, description="Integration presence")
    conversationSummary: UserConversationSummary | None = Field(
        default=None, description="Summary of conversion statistics for conversation types."
    )
    outOfOffice: OutOfOffice | None = Field(default=None, description="Determine if out of office is enabled")
    geolocation: Geolocation | None = Field(default=None, description="Current geolocation position")
    station: UserStations | None = Field(
        default=None, description="Effective, default, and last station information"
    )
    authorization: UserAuthorization | None = Field(
        default=None, description="Roles and permissions assigned to the user"
    )
    profileSkills: list[str] | None = Field(default=None, description="Profile skills possessed by the user")
    locations: list[Location] | None = Field(
        default=None, description="The user placement at each site location."
    )
    groups: list[Group] | None = Field(default=None, description="The groups the user is a member of")
    team: Team | None = Field(default=None, description="The team the user is a member of")
    workPlanBidRanks: WorkPlanBidRanks | None = Field(
        default=None, description="The WFM work plan bid rank settings for the user"
    )
    skills: list[UserRoutingSkill] | None = Field(
        default=None, description="Routing (ACD) skills possessed by the user"
    )
    languages: list[UserRoutingLanguage] | None = Field(
        default=None, description="Routing (ACD) languages possessed by the user"
    )
    acdAutoAnswer: bool | None = Field(default=None, description="acd auto answer")
    languagePreference: str | None = Field(default=None, description="preferred language by the user")
    lastTokenIssued: OAuthLastTokenIssued | None = None
    dateLastLogin: str | None = Field(
        default=None,
        description="The last time the user logged in using username and password. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    dateWelcomeSent: str | None = Field(
        default=None,
        description="The date & time the user was sent their welcome email. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    organization: Organization | None = None


class Organization(ApiModel):
    """Organization (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    defaultLanguage: str | None = Field(
        default=None, description="The default language for this organization. Example: 'en'"
    )
    defaultCountryCode: str | None = Field(
        default=None, description="The default country code for this organization. Example: 'US'"
    )
    thirdPartyOrgName: str | None = Field(
        default=None,
        description="The short name for the organization. This field is globally unique and cannot be changed.",
    )
    thirdPartyURI: str | None = None
    domain: str | None = None
    features: dict[str, bool] | None = Field(
        default=None, description="The state of features available for the organization."
    )
    version: int | None = Field(default=None, description="The current version of the organization.")
    state: str | None = Field(
        default=None,
        description="The current state. Examples are active, inactive, deleted. One of: active, inactive, deleted.",
    )
    defaultSiteId: str | None = None
    supportURI: str | None = Field(
        default=None, description="Email address where support tickets are sent to."
    )
    voicemailEnabled: bool | None = None
    productPlatform: str | None = Field(
        default=None,
        description="Organizations Originating Platform. One of: GenesysCloud, PureCloud, PureEngage, PureEngageCloud, PureConnect, PureConnectCloud, Unknown.",
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class OutOfOffice(ApiModel):
    """OutOfOffice (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    user: User | None = None
    startDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    endDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    active: bool | None = None
    indefinite: bool | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")


class PhoneNumber(ApiModel):
    """PhoneNumber (API schema)."""

    display: str | None = Field(
        default=None,
        description="The displayed form of the phone number string. Users should input the phone number in this field, but it will be altered by the API on write. If the phone number can be read as E164, the value will be replaced with international formatted-version of the number. If the number cannot be read as E164, the value will be preserved as-is. In both cases, the provided input string will be copied to the userInput field. Max: 512 characters.",
    )
    extension: int | None = Field(
        default=None, description="An optional extension for the provided phone number."
    )
    acceptsSMS: bool | None = Field(
        default=None, description="Whether this phone number can accept SMS messages."
    )
    normalizationCountryCode: str | None = Field(
        default=None,
        description="The country code that will be used for E164 conversion of a provided phone number. If the country code is omitted from the provided phone number, the country code provided in this field will be used during the E164 conversion attempt. If this field is left empty, the default country code for any provided phone number that does not explicitly include a country code is assumed to be +1 (North America).",
    )
    userInput: str | None = Field(
        default=None,
        description="The user-inputted phone number string that was provided to the display field on write. This field is not user-writeable and will always be set by the system.",
    )
    e164: str | None = Field(
        default=None,
        description="The E164-formatted form of the provided phone number. This field is not user-writeable and will only be set when the provided phone number could be read as E164.",
    )
    countryCode: str | None = Field(
        default=None,
        description="The detected country code from the provided phone number. This field is not user-writeable and will only be set when the provided phone number could be read as E164. Max: 4 characters.",
    )


class PresenceDefinition(ApiModel):
    """PresenceDefinition (API schema)."""

    id: str | None = Field(default=None, description="description")
    systemPresence: str | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")


class Relationship(ApiModel):
    """Relationship (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    division: WritableStarrableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    user: User | None = Field(
        default=None,
        description="The user associated with the external organization. When creating or updating a relationship, only User.id is required. User object is fully populated when expanding a note.",
    )
    externalOrganization: ExternalOrganization | None = Field(
        default=None, description="The external organization this relationship is attached to"
    )
    relationship: str | None = Field(
        default=None,
        description="The relationship or role of the user to this external organization.Examples: Account Manager, Sales Engineer, Implementation Consultant. Between 1 and 100 characters.",
    )
    externalDataSources: list[ExternalDataSource] | None = Field(
        default=None,
        description="Links to the sources of data (e.g. one source might be a CRM) that contributed data to this record. Read-only, and only populated when requested via expand param.",
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class RelationshipListing(ApiModel):
    """RelationshipListing (API schema)."""

    entities: list[Relationship] | None = None
    pageSize: int | None = None
    pageNumber: int | None = None
    total: int | None = None
    partialResults: bool | None = None
    lastUri: str | None = None
    firstUri: str | None = None
    selfUri: str | None = None
    nextUri: str | None = None
    previousUri: str | None = None
    pageCount: int | None = None


class ResourceConditionNode(ApiModel):
    """ResourceConditionNode (API schema)."""

    variableName: str | None = None
    conjunction: str | None = Field(default=None, description="One of: AND, OR.")
    operator: str | None = Field(default=None, description="One of: EQ, IN, GE, GT, LE, LT.")
    operands: list[ResourceConditionValue] | None = None
    terms: list[ResourceConditionNode] | None = None


class ResourceConditionValue(ApiModel):
    """ResourceConditionValue (API schema)."""

    type: str | None = Field(default=None, description="One of: SCALAR, VARIABLE, USER, QUEUE, TEAM.")
    value: str | None = None


class ResourcePermissionPolicy(ApiModel):
    """ResourcePermissionPolicy (API schema)."""

    id: str | None = None
    domain: str | None = None
    entityName: str | None = None
    policyName: str | None = None
    policyDescription: str | None = None
    actionSetKey: str | None = None
    allowConditions: bool | None = None
    resourceConditionNode: ResourceConditionNode | None = None
    namedResources: list[str] | None = None
    resourceCondition: str | None = None
    actionSet: list[str] | None = None


class RoutingStatus(ApiModel):
    """RoutingStatus (API schema)."""

    userId: str | None = Field(default=None, description="The userId of the agent")
    status: str | None = Field(
        default=None,
        description="Indicates the Routing State of the agent. A value of OFF_QUEUE will be returned if the specified user does not exist. One of: OFF_QUEUE, IDLE, INTERACTING, NOT_RESPONDING, COMMUNICATING.",
    )
    startTime: str | None = Field(
        default=None,
        description="The timestamp when the agent went into this state. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )


class Team(ApiModel):
    """Team (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = Field(default=None, description="The team name")
    division: WritableDivision | None = Field(
        default=None, description="The division to which this entity belongs."
    )
    description: str | None = Field(default=None, description="Team information.")
    dateCreated: str | None = Field(
        default=None,
        description="Last modified datetime. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    dateModified: str | None = Field(
        default=None,
        description="Last modified datetime. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    memberCount: int | None = Field(default=None, description="Number of members in a team")
    selfUri: str | None = Field(default=None, description="The URI for this object")


class Ticker(ApiModel):
    """Ticker (API schema)."""

    symbol: str | None = Field(
        default=None, description="The ticker symbol for this organization. Example: ININ, AAPL, MSFT, etc."
    )
    exchange: str | None = Field(
        default=None, description="The exchange for this ticker symbol. Examples: NYSE, FTSE, NASDAQ, etc."
    )


class TrusteeAuthorization(ApiModel):
    """TrusteeAuthorization (API schema)."""

    permissions: list[str] | None = Field(
        default=None, description="Permissions that the trustee user has in the trustor organization"
    )


class Trustor(ApiModel):
    """Trustor (API schema)."""

    id: str | None = Field(default=None, description="Organization Id for this trust.")
    enabled: bool | None = Field(
        default=None,
        description="If disabled no trustee user will have access, even if they were previously added.",
    )
    dateCreated: str | None = Field(
        default=None,
        description="Date Trust was created. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    createdBy: OrgUser | None = Field(default=None, description="User that created trust.")
    organization: Organization | None = Field(
        default=None, description="Organization associated with this trust."
    )
    authorization: TrusteeAuthorization | None = Field(
        default=None, description="Authorization for the trustee user has in this trustor organization"
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class TwitterId(ApiModel):
    """TwitterId (API schema)."""

    id: str | None = Field(default=None, description="twitter user.id_str. Max: 255 characters")
    name: str | None = Field(default=None, description="twitter user.name. Max: 255 characters")
    screenName: str | None = Field(
        default=None,
        description="twitter user.screen_name. Max: 255 characters. Must match pattern: ^@?[A-Za-z0-9_]+$",
    )
    verified: bool | None = Field(
        default=None, description="whether this data has been verified using the twitter API"
    )
    profileUrl: str | None = Field(default=None, description="url of user's twitter profile")


class User(ApiModel):
    """User (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    division: Division | None = Field(default=None, description="The division to which this entity belongs.")
    chat: Chat | None = None
    department: str | None = None
    email: str | None = None
    primaryContactInfo: list[Contact] | None = Field(
        default=None, description="Auto populated from addresses."
    )
    addresses: list[Contact] | None = Field(
        default=None, description="Email addresses and phone numbers for this user"
    )
    state: str | None = Field(
        default=None, description="The current state for this user. One of: active, inactive, deleted."
    )
    title: str | None = None
    username: str | None = None
    manager: User | None = None
    images: list[Image] | None = None
    version: int | None = Field(
        default=None,
        description="Required when updating a user, this value should be the current version of the user. The current version can be obtained with a GET on the user before doing a PATCH.",
    )
    certifications: list[str] | None = None
    biography: Biography | None = None
    employerInfo: EmployerInfo | None = None
    preferredName: str | None = Field(default=None, description="Preferred full name of the agent")
    routingStatus: RoutingStatus | None = Field(default=None, description="ACD routing status")
    presence: UserPresence | None = Field(default=None, description="Active presence")
    integrationPresence: UserPresence | None = Field(default=None, description="Integration presence")
    conversationSummary: UserConversationSummary | None = Field(
        default=None, description="Summary of conversion statistics for conversation types."
    )
    outOfOffice: OutOfOffice | None = Field(default=None, description="Determine if out of office is enabled")
    geolocation: Geolocation | None = Field(default=None, description="Current geolocation position")
    station: UserStations | None = Field(
        default=None, description="Effective, default, and last station information"
    )
    authorization: UserAuthorization | None = Field(
        default=None, description="Roles and permissions assigned to the user"
    )
    profileSkills: list[str] | None = Field(default=None, description="Profile skills possessed by the user")
    locations: list[Location] | None = Field(
        default=None, description="The user placement at each site location."
    )
    groups: list[Group] | None = Field(default=None, description="The groups the user is a member of")
    team: Team | None = Field(default=None, description="The team the user is a member of")
    workPlanBidRanks: WorkPlanBidRanks | None = Field(
        default=None, description="The WFM work plan bid rank settings for the user"
    )
    skills: list[UserRoutingSkill] | None = Field(
        default=None, description="Routing (ACD) skills possessed by the user"
    )
    languages: list[UserRoutingLanguage] | None = Field(
        default=None, description="Routing (ACD) languages possessed by the user"
    )
    acdAutoAnswer: bool | None = Field(default=None, description="acd auto answer")
    languagePreference: str | None = Field(default=None, description="preferred language by the user")
    lastTokenIssued: OAuthLastTokenIssued | None = None
    dateLastLogin: str | None = Field(
        default=None,
        description="The last time the user logged in using username and password. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    dateWelcomeSent: str | None = Field(
        default=None,
        description="The date & time the user was sent their welcome email. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class UserAuthorization(ApiModel):
    """UserAuthorization (API schema)."""

    roles: list[DomainRole] | None = None
    unusedRoles: list[DomainRole] | None = Field(
        default=None, description="A collection of the roles the user is not using"
    )
    permissions: list[str] | None = Field(
        default=None, description="A collection of the permissions granted by all assigned roles"
    )
    permissionPolicies: list[ResourcePermissionPolicy] | None = Field(
        default=None, description="The policies configured for assigned permissions."
    )


class UserConversationSummary(ApiModel):
    """UserConversationSummary (API schema)."""

    userId: str | None = None
    call: MediaSummary | None = None
    callback: MediaSummary | None = None
    email: MediaSummary | None = None
    message: MediaSummary | None = None
    chat: MediaSummary | None = None
    socialExpression: MediaSummary | None = None
    video: MediaSummary | None = None


class UserPresence(ApiModel):
    """UserPresence (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    source: str | None = Field(
        default=None, description="Deprecated - The sourceID field should be used as a replacement."
    )
    sourceId: str | None = Field(default=None, description="Represents the ID of a registered source")
    primary: bool | None = Field(
        default=None,
        description="A boolean used to tell whether or not to set this presence source as the primary on a PATCH",
    )
    presenceDefinition: PresenceDefinition | None = None
    futurePresenceDefinition: PresenceDefinition | None = Field(
        default=None, description="The definition of the user's desired future presence"
    )
    message: str | None = None
    modifiedDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class UserRoutingLanguage(ApiModel):
    """UserRoutingLanguage (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    proficiency: float | None = Field(
        default=None,
        description="A rating from 0.0 to 5.0 that indicates how fluent an agent is in a particular language. ACD interactions are routed to agents with higher proficiency ratings.",
    )
    state: str | None = Field(
        default=None,
        description="Activate or deactivate this routing language. One of: active, inactive, deleted.",
    )
    languageUri: str | None = Field(
        default=None, description="URI to the organization language used by this user language."
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class UserRoutingSkill(ApiModel):
    """UserRoutingSkill (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    proficiency: float | None = Field(
        default=None,
        description='A rating from 0.0 to 5.0 that indicates how adept an agent is at a particular skill. When "Best available skills" is enabled for a queue in Genesys Cloud, ACD interactions in that queue are routed to agents with higher proficiency ratings.',
    )
    state: str | None = Field(
        default=None,
        description="Activate or deactivate this routing skill. One of: active, inactive, deleted.",
    )
    skillUri: str | None = Field(
        default=None, description="URI to the organization skill used by this user skill."
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class UserStation(ApiModel):
    """UserStation (API schema)."""

    id: str | None = Field(default=None, description="A globally unique identifier for this station")
    name: str | None = None
    type: str | None = None
    associatedUser: User | None = None
    associatedDate: str | None = Field(
        default=None,
        description="Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z",
    )
    defaultUser: User | None = None
    providerInfo: dict[str, str] | None = Field(
        default=None,
        description='Provider-specific info for this station, e.g. { "edgeGroupId": "ffe7b15c-a9cc-4f4c-88f5-781327819a49" }',
    )
    webRtcCallAppearances: int | None = Field(
        default=None, description="The number of call appearances on the station."
    )


class UserStations(ApiModel):
    """UserStations (API schema)."""

    associatedStation: UserStation | None = Field(
        default=None, description="Current associated station for this user."
    )
    effectiveStation: UserStation | None = Field(
        default=None,
        description="The station where the user can be reached based on their default and associated station.",
    )
    defaultStation: UserStation | None = Field(
        default=None, description="Default station to be used if not associated with a station."
    )
    lastAssociatedStation: UserStation | None = Field(
        default=None, description="Last associated station for this user."
    )


class WhatsAppId(ApiModel):
    """WhatsAppId (API schema)."""

    phoneNumber: PhoneNumber | None = Field(
        default=None,
        description="The phone number associated with this WhatsApp account. Requires 'E164 without a leading plus' phone number.",
    )
    displayName: str | None = Field(
        default=None, description="The displayName of this person's account in WhatsApp. Max: 100 characters."
    )


class WorkPlanBidRanks(ApiModel):
    """WorkPlanBidRanks (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the user.")
    workPlanBiddingPerformance: int | None = Field(
        default=None,
        description="Work plan bidding agent performance ranking. The range of values is between 0 and 9999.",
    )
    biddingTieBreaker: str | None = Field(
        default=None, description="Custom agent ranking metric that some customers can use."
    )
    selfUri: str | None = Field(default=None, description="The URI for this object")


class WritableDivision(ApiModel):
    """WritableDivision (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")


class WritableStarrableDivision(ApiModel):
    """WritableStarrableDivision (API schema)."""

    id: str | None = Field(default=None, description="The globally unique identifier for the object.")
    name: str | None = None
    selfUri: str | None = Field(default=None, description="The URI for this object")
