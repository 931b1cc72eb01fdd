"""openEO errors: one class per openEO error code, with the HTTP status it maps to.

This module knows nothing about the web layer: ``eostation.api.handlers`` renders
any :class:`OpenEOError` as ``{"id", "code", "message", "links"}`` with ``status``.
Templates are formatted with the keyword arguments given to the constructor; a
missing placeholder never raises, it stays visible as ``{name}``.
"""

from __future__ import annotations

import math
import string
from typing import Any, ClassVar

__all__ = [
    "AuthenticationRequired",
    "AuthenticationSchemeInvalid",
    "BandExists",
    "BandFilterParameterMissing",
    "BillingPlanInvalid",
    "BillingPlanMissing",
    "BudgetInvalid",
    "CollectionNotFound",
    "ContentTypeInvalid",
    "CredentialsInvalid",
    "DataCubeEmpty",
    "DimensionAmbiguous",
    "DimensionExists",
    "DimensionLabelCountMismatch",
    "DimensionMismatch",
    "DimensionMissing",
    "DimensionNotAvailable",
    "EstimateComplexity",
    "FeatureUnsupported",
    "FileContentInvalid",
    "FileLocked",
    "FileNotFound",
    "FileOperationUnsupported",
    "FilePathInvalid",
    "FileSizeExceeded",
    "FileTypeInvalid",
    "FolderOperationUnsupported",
    "FormatUnsuitable",
    "HostNotAllowed",
    "IncompatibleDataCubes",
    "InfrastructureBusy",
    "InfrastructureMaintenance",
    "Internal",
    "ItemNotFound",
    "JobLocked",
    "JobNotFinished",
    "JobNotFound",
    "JobNotStarted",
    "LabelExists",
    "LabelMismatch",
    "LabelNotAvailable",
    "LabelsNotEnumerated",
    "MethodNotAllowed",
    "NirBandAmbiguous",
    "NoDataAvailable",
    "NoDataForUpdate",
    "NotFound",
    "ODataQueryInvalid",
    "OpenEOError",
    "OutboundRefused",
    "OverlapResolverMissing",
    "PayloadTooLarge",
    "PaymentRequired",
    "PermissionsInsufficient",
    "PredefinedProcessExists",
    "ProcessGraphComplexity",
    "ProcessGraphInvalid",
    "ProcessGraphMissing",
    "ProcessGraphNotFound",
    "ProcessInvalid",
    "ProcessParameterInvalid",
    "ProcessParameterRequired",
    "ProcessParameterUnsupported",
    "ProcessUnsupported",
    "PropertyNotEditable",
    "RedBandAmbiguous",
    "RequestInvalid",
    "RequestTimeout",
    "ResultLinkExpired",
    "ServiceConfigInvalid",
    "ServiceConfigRequired",
    "ServiceConfigUnsupported",
    "ServiceNotFound",
    "ServiceUnavailable",
    "ServiceUnsupported",
    "StorageFailure",
    "StorageQuotaExceeded",
    "StorageUnavailable",
    "TargetDimensionExists",
    "TemporalExtentEmpty",
    "TokenInvalid",
    "TooManyRequests",
    "UnsupportedApiVersion",
]


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class OpenEOError(Exception):
    """Base of every error that reaches a user.

    ``code`` is the openEO error code, ``status`` the HTTP status, ``template``
    the message; extra keyword arguments fill the template and are kept in
    ``params``. ``message=`` overrides the template entirely.
    """

    code: ClassVar[str] = "Internal"
    status: ClassVar[int] = 500
    template: ClassVar[str] = "Server error: {message}"
    retry_after: float | None = None
    """Seconds after which a retry may succeed; sent as ``Retry-After`` when set."""

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.params = params
        if message is not None and "{message}" in self.template:
            params = {**params, "message": message}
            message = None
        self.message = message or string.Formatter().vformat(self.template, (), _Lenient(params))
        super().__init__(self.message)

    def to_dict(self, request_id: str | None = None) -> dict[str, Any]:
        """The openEO error JSON body (without ``id`` when none is given)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message, "links": []}
        if request_id:
            body = {"id": request_id, **body}
        return body


class Internal(OpenEOError):
    code, status = "Internal", 500
    template = "Server error: {message}"


class NotFound(OpenEOError):
    code, status = "NotFound", 404
    template = "Resource not found: {path}"


class MethodNotAllowed(OpenEOError):
    code, status = "MethodNotAllowed", 405
    template = "Method {method} is not allowed on {path}."


class RequestInvalid(OpenEOError):
    """Our own code for a request body or query that fails validation."""

    code, status = "RequestInvalid", 400
    template = "The request is invalid: {reason}"


class ODataQueryInvalid(OpenEOError):
    """A bad OData query option (``$filter``, ``$top``…): 422, named with its position.

    The OData mount renders it as FastAPI's validation shape
    (``{"detail": [{"type", "loc", "msg", "input"}]}``), as CDSE's catalogue does.
    """

    code, status = "QueryInvalid", 422
    template = "Invalid {param}: {reason}"

    def __init__(self, param: str, reason: str, value: object = None, position: int | None = None):
        super().__init__(param=param, reason=reason)
        self.param, self.reason, self.value, self.position = param, reason, value, position


class FeatureUnsupported(OpenEOError):
    code, status = "FeatureUnsupported", 501
    template = "Feature not supported: {feature}"


class InfrastructureMaintenance(OpenEOError):
    code, status = "InfrastructureMaintenance", 503
    template = "The service is down for maintenance. Try again later."


class InfrastructureBusy(OpenEOError):
    code, status = "InfrastructureBusy", 503
    template = "The service is overloaded. Try again later."


# -- eostation-specific codes (not in the openEO error list) --------------------------


class _RetryLater(OpenEOError):
    """An error that goes away by itself: it carries the ``Retry-After`` seconds."""

    def __init__(self, message: str | None = None, *, retry_after: float, **params: Any) -> None:
        super().__init__(message, retry_after=max(1, math.ceil(retry_after)), **params)
        self.retry_after = retry_after


class ServiceUnavailable(_RetryLater):
    """eostation-specific: the database stayed locked by other writers longer than allowed."""

    code, status = "ServiceUnavailable", 503
    template = "The service is busy ({reason}). Try again in {retry_after} s."


class StorageUnavailable(_RetryLater):
    """eostation-specific: the object store holding job results refused a read or write."""

    code, status = "StorageUnavailable", 503
    template = "The result storage is unavailable ({reason}). Try again in {retry_after} s."


class TooManyRequests(_RetryLater):
    """eostation-specific: a rate limit (logins, job creation, synchronous processing) was hit."""

    code, status = "TooManyRequests", 429
    template = "Too many {what}: the limit is {limit}. Try again in {retry_after} s."


class PayloadTooLarge(OpenEOError):
    """eostation-specific: the request body is larger than ``EOSTATION_MAX_REQUEST_BYTES``."""

    code, status = "PayloadTooLarge", 413
    template = (
        "The request body is larger than {limit} bytes. Send large inputs as files or URLs "
        "(e.g. load_url, load_stac) instead of inline JSON."
    )


class UnsupportedApiVersion(OpenEOError):
    code, status = "UnsupportedApiVersion", 404
    template = "API version '{version}' is not supported; use 1.2.0."


class RequestTimeout(OpenEOError):
    code, status = "RequestTimeout", 408
    template = "The request took longer than {seconds} s. Run it as a batch job instead."


class BudgetInvalid(OpenEOError):
    code, status = "BudgetInvalid", 400
    template = "The budget is invalid: {reason}"


class EstimateComplexity(OpenEOError):
    code, status = "EstimateComplexity", 500
    template = "No estimate can be computed for this process graph: {reason}"


class NoDataForUpdate(OpenEOError):
    code, status = "NoDataForUpdate", 400
    template = "The update request contains no property to change."


class PropertyNotEditable(OpenEOError):
    code, status = "PropertyNotEditable", 400
    template = "The property '{property}' cannot be changed."


class CollectionNotFound(OpenEOError):
    code, status = "CollectionNotFound", 404
    template = (
        "Collection '{identifier}' does not exist. GET /collections lists the available ones."
    )


class StorageFailure(OpenEOError):
    code, status = "StorageFailure", 500
    template = "Files could not be stored: {reason}"


class StorageQuotaExceeded(OpenEOError):
    code, status = "StorageQuotaExceeded", 400
    template = "Your storage quota of {quota} is exceeded. Delete old job results or files."


class FileNotFound(OpenEOError):
    code, status = "FileNotFound", 404
    template = "File '{file}' does not exist."


class FilePathInvalid(OpenEOError):
    code, status = "FilePathInvalid", 400
    template = "File path is invalid: {reason}"


class FileOperationUnsupported(OpenEOError):
    code, status = "FileOperationUnsupported", 400
    template = "This file operation is not supported for '{path}'."


class FolderOperationUnsupported(OpenEOError):
    code, status = "FolderOperationUnsupported", 400
    template = "'{path}' is a folder; this operation works on files only."


class ContentTypeInvalid(OpenEOError):
    code, status = "ContentTypeInvalid", 400
    template = "Media type not supported. Allowed: {types}"


class FileTypeInvalid(OpenEOError):
    code, status = "FileTypeInvalid", 400
    template = "File format '{type}' is not supported. Allowed: {types}"


class FileSizeExceeded(OpenEOError):
    code, status = "FileSizeExceeded", 400
    template = "File is too large; the maximum is {size}."


class FileContentInvalid(OpenEOError):
    code, status = "FileContentInvalid", 400
    template = "File content is invalid: {reason}"


class FileLocked(OpenEOError):
    code, status = "FileLocked", 400
    template = "File '{file}' is locked by another process."


class ProcessGraphNotFound(OpenEOError):
    code, status = "ProcessGraphNotFound", 404
    template = "User-defined process '{identifier}' does not exist."


class ProcessInvalid(OpenEOError):
    code, status = "ProcessInvalid", 400
    template = "Invalid process: {reason}"


class ProcessGraphMissing(OpenEOError):
    code, status = "ProcessGraphMissing", 400
    template = "The request contains no process graph (expected 'process.process_graph')."


class ProcessGraphInvalid(OpenEOError):
    code, status = "ProcessGraphInvalid", 400
    template = "Invalid process graph: {reason}"


class PredefinedProcessExists(OpenEOError):
    code, status = "PredefinedProcessExists", 400
    template = "'{identifier}' is a predefined process; choose another id for your process."


class ProcessGraphComplexity(OpenEOError):
    code, status = "ProcessGraphComplexity", 400
    template = (
        "This request is too large for synchronous processing ({reason}). Run it as a batch job."
    )


class ProcessUnsupported(OpenEOError):
    code, status = "ProcessUnsupported", 400
    template = "Process '{process}' is not available in namespace '{namespace}'."


class ProcessParameterUnsupported(OpenEOError):
    code, status = "ProcessParameterUnsupported", 400
    template = "Process '{process}' has no parameter '{parameter}'."


class ProcessParameterInvalid(OpenEOError):
    code, status = "ProcessParameterInvalid", 400
    template = "The value of parameter '{parameter}' of process '{process}' is invalid: {reason}"


class OutboundRefused(ProcessParameterInvalid):
    """A URL the server will not fetch (internal address, not http(s)): see ``eostation.outbound``."""

    template = "The server does not fetch {url}: {reason}."


class ProcessParameterRequired(OpenEOError):
    code, status = "ProcessParameterRequired", 400
    template = "Process '{process}' requires parameter '{parameter}'."


class JobNotFound(OpenEOError):
    code, status = "JobNotFound", 404
    template = "The batch job '{identifier}' does not exist."


class JobLocked(OpenEOError):
    code, status = "JobLocked", 400
    template = "Batch job '{identifier}' is queued or running and cannot be changed now."


class JobNotFinished(OpenEOError):
    code, status = "JobNotFinished", 400
    template = "Batch job '{identifier}' has not finished yet (status: {status})."


class JobNotStarted(OpenEOError):
    code, status = "JobNotStarted", 400
    template = "Batch job '{identifier}' has not been started."


class ResultLinkExpired(OpenEOError):
    code, status = "ResultLinkExpired", 410
    template = "This result link has expired. Request the job results again for fresh links."


class PaymentRequired(OpenEOError):
    code, status = "PaymentRequired", 402
    template = "The budget is not sufficient: {reason}"


class BillingPlanInvalid(OpenEOError):
    code, status = "BillingPlanInvalid", 400
    template = "Billing plan '{plan}' does not exist."


class BillingPlanMissing(OpenEOError):
    code, status = "BillingPlanMissing", 400
    template = "A billing plan must be specified."


class AuthenticationRequired(OpenEOError):
    code, status = "AuthenticationRequired", 401
    template = "Authentication required: send 'Authorization: Bearer <token>' (see /credentials/basic or /credentials/oidc)."


class AuthenticationSchemeInvalid(OpenEOError):
    code, status = "AuthenticationSchemeInvalid", 403
    template = "Authentication method not supported: {reason}"


class TokenInvalid(OpenEOError):
    code, status = "TokenInvalid", 403
    template = "The access token is expired or invalid ({reason}). Authenticate again."


class CredentialsInvalid(OpenEOError):
    code, status = "CredentialsInvalid", 403
    template = "The user name or password is not correct."


class HostNotAllowed(OpenEOError):
    code, status = "HostNotAllowed", 403
    template = (
        "This server does not answer to the host name '{host}' (a web page may be trying to reach "
        "it through DNS rebinding). Use 127.0.0.1 or localhost, or add the name to "
        "EOSTATION_ALLOWED_HOSTS / set EOSTATION_PUBLIC_URL."
    )


class PermissionsInsufficient(OpenEOError):
    code, status = "PermissionsInsufficient", 403
    template = "Your account is not allowed to do this: {reason}"


class ServiceNotFound(OpenEOError):
    code, status = "ServiceNotFound", 404
    template = "Service '{identifier}' does not exist."


class ServiceUnsupported(OpenEOError):
    code, status = "ServiceUnsupported", 400
    template = "Service type '{type}' is not supported."


class ServiceConfigUnsupported(OpenEOError):
    code, status = "ServiceConfigUnsupported", 400
    template = "Service parameter '{parameter}' is not supported."


class ServiceConfigInvalid(OpenEOError):
    code, status = "ServiceConfigInvalid", 400
    template = "The value of service parameter '{parameter}' is invalid: {reason}"


class ServiceConfigRequired(OpenEOError):
    code, status = "ServiceConfigRequired", 400
    template = "Service parameter '{parameter}' is required."


# -- exceptions that the openEO process specs declare (all 400) -----------------------


class BandExists(OpenEOError):
    code, status = "BandExists", 400
    template = "A band named '{band}' already exists; choose another target band name."


class BandFilterParameterMissing(OpenEOError):
    code, status = "BandFilterParameterMissing", 400
    template = "filter_bands needs at least one of 'bands' or 'wavelengths'."


class DimensionAmbiguous(OpenEOError):
    code, status = "DimensionAmbiguous", 400
    template = "The cube has {count} dimensions of type '{type}' ({names}); name the one to use."


class DimensionExists(OpenEOError):
    code, status = "DimensionExists", 400
    template = "The cube already has a dimension named '{dimension}'."


class TargetDimensionExists(OpenEOError):
    code, status = "TargetDimensionExists", 400
    template = "The cube already has a dimension named '{dimension}'; choose another target name."


class DimensionLabelCountMismatch(OpenEOError):
    code, status = "DimensionLabelCountMismatch", 400
    template = "Dimension '{dimension}' has {count} labels; only a dimension with a single label can be dropped."


class DimensionMismatch(OpenEOError):
    code, status = "DimensionMismatch", 400
    template = "The cubes' dimensions do not match: {reason}"


class DimensionMissing(OpenEOError):
    code, status = "DimensionMissing", 400
    template = "The cube has no dimension of type '{type}'."


class DimensionNotAvailable(OpenEOError):
    code, status = "DimensionNotAvailable", 400
    template = "The cube has no dimension '{dimension}'; it has: {available}."


class IncompatibleDataCubes(OpenEOError):
    code, status = "IncompatibleDataCubes", 400
    template = "The data cubes are not compatible: {reason}"


class LabelExists(OpenEOError):
    code, status = "LabelExists", 400
    template = "Label '{label}' already exists in dimension '{dimension}'."


class LabelMismatch(OpenEOError):
    code, status = "LabelMismatch", 400
    template = "'source' and 'target' must list the same number of labels ({source} vs {target})."


class LabelNotAvailable(OpenEOError):
    code, status = "LabelNotAvailable", 400
    template = "Dimension '{dimension}' has no label '{label}'."


class LabelsNotEnumerated(OpenEOError):
    code, status = "LabelsNotEnumerated", 400
    template = (
        "Dimension '{dimension}' has labels of its own; name the labels to rename in 'source'."
    )


class NirBandAmbiguous(OpenEOError):
    code, status = "NirBandAmbiguous", 400
    template = "No single near-infrared band could be found ({reason}); name it with 'nir'."


class NoDataAvailable(OpenEOError):
    code, status = "NoDataAvailable", 400
    template = "No data is available for the request: {reason}"


class OverlapResolverMissing(OpenEOError):
    code, status = "OverlapResolverMissing", 400
    template = "The cubes overlap ({reason}); an overlap_resolver is needed to combine them."


class RedBandAmbiguous(OpenEOError):
    code, status = "RedBandAmbiguous", 400
    template = "No single red band could be found ({reason}); name it with 'red'."


class TemporalExtentEmpty(OpenEOError):
    code, status = "TemporalExtentEmpty", 400
    template = "The temporal extent [{start}, {end}) is empty: its start must come before its end."


class DataCubeEmpty(OpenEOError):
    code, status = "DataCubeEmpty", 400
    template = "The file format {format} cannot store an empty data cube."


class FormatUnsuitable(OpenEOError):
    code, status = "FormatUnsuitable", 400
    template = "The data cannot be written as {format}: {reason}"


class ItemNotFound(OpenEOError):
    """eostation-specific: a catalogue item (STAC API, OData product) that does not exist or is not visible."""

    code, status = "ItemNotFound", 404
    template = "Item '{item_id}' does not exist in collection '{collection_id}'."
