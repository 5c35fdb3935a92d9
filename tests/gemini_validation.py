"""What the Gemini test server (`tests/gemini_server.py`) refuses, as Vertex AI's `generateContent` does.

`check_request(body)` returns Google's message for the first problem found, or None. Checked: only known
fields (the JSON parser rejects unknown names); `contents` not empty, roles "user"/"model" alternating and
starting with the user, every part holding exactly one kind of data and no empty text; a `functionCall`
only in a model turn that follows a user turn, answered by the very next content with as many
`functionResponse` parts of the same names (whose `response` is an object), and no `functionResponse`
elsewhere; the function calls of the current turn sent back with the thought signature they came with;
`systemInstruction` text parts; `tools[].functionDeclarations` with valid names, no duplicates and valid
parameter schemas (an OBJECT with properties at the top, types Gemini knows, enums of strings, ARRAY with
items, required names among the properties); `toolConfig`; `generationConfig`, and its `responseSchema`
(valid, and only with responseMimeType application/json; schema fields by their JSON or proto names).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

REQUEST_FIELDS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings",
                  "cachedContent", "labels", "modelArmorConfig"}
PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
             "codeExecutionResult"}
PART_META = {"thought", "thoughtSignature", "videoMetadata", "mediaResolution"}
SCHEMA_FIELDS = {"type", "format", "title", "description", "nullable", "default", "items", "minItems", "maxItems",
                 "enum", "properties", "propertyOrdering", "required", "minProperties", "maxProperties",
                 "minLength", "maxLength", "pattern", "example", "anyOf", "minimum", "maximum",
                 "additionalProperties"}
TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
DECLARATION_FIELDS = {"name", "description", "parameters", "parametersJsonSchema", "response",
                      "responseJsonSchema", "behavior"}
GENERATION_FIELDS = {"temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences",
                     "responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig", "seed",
                     "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs", "responseModalities",
                     "mediaResolution", "audioTimestamp", "routingConfig", "speechConfig", "imageConfig"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


class Invalid(Exception):
    pass


def call_key(call: dict[str, Any]) -> str:
    """How the server recognizes a function call it sent when it comes back."""
    return json.dumps([call.get("name"), call.get("args") or {}], sort_keys=True)


def check_request(body: Any, *, require_system: bool = False, signatures: dict[str, str] | None = None) -> str | None:
    try:
        _check(body, require_system, signatures)
    except Invalid as problem:
        return str(problem)
    return None


def _unknown(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise Invalid(f'Invalid JSON payload received. Unknown name "{key}" at \'{where}\': Cannot find field.')


def _check(body: Any, require_system: bool, signatures: dict[str, str] | None) -> None:
    if not isinstance(body, dict):
        raise Invalid("Invalid JSON payload received. Expected an object.")
    _unknown(body, REQUEST_FIELDS, "")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise Invalid("Unable to submit request because it must include at least one contents field.")
    system = body.get("systemInstruction")
    if system is None and require_system:
        raise Invalid("systemInstruction is required by this test.")
    if system is not None:
        _check_system(system)
    declared = _check_tools(body.get("tools"))
    _check_tool_config(body.get("toolConfig"), declared)
    _check_generation(body.get("generationConfig"))
    _check_contents(contents, signatures)


def _check_system(system: Any) -> None:
    if not isinstance(system, dict):
        raise Invalid("system_instruction must be a Content.")
    _unknown(system, {"role", "parts"}, "system_instruction")
    parts = system.get("parts")
    if not isinstance(parts, list) or not parts:
        raise Invalid("system_instruction must have at least one part.")
    for part in parts:
        if not isinstance(part, dict) or set(part) != {"text"} or not isinstance(part["text"], str):
            raise Invalid("system_instruction.parts may only hold text.")


def _check_contents(contents: list[Any], signatures: dict[str, str] | None) -> None:
    previous_role: str | None = None
    for index, content in enumerate(contents):
        where = f"contents[{index}]"
        if not isinstance(content, dict):
            raise Invalid(f"{where} must be an object.")
        _unknown(content, {"role", "parts"}, where)
        role = content.get("role")
        if role not in ("user", "model"):
            raise Invalid(f"Please use a valid role: user, model. ({where}.role = {role!r})")
        if index == 0 and role != "user":
            raise Invalid("Please ensure that multiturn requests start with a user turn.")
        if role == previous_role:
            raise Invalid("Please ensure that multiturn requests alternate between user and model.")
        previous_role = role
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise Invalid("Unable to submit request because it must have at least one parts field, which describes "
                          f"the prompt input. ({where})")
        for number, part in enumerate(parts):
            _check_part(part, role, f"{where}.parts[{number}]")
    _check_pairs(contents)
    if signatures is not None:
        _check_signatures(contents, signatures)


def _check_part(part: Any, role: str, where: str) -> None:
    if not isinstance(part, dict):
        raise Invalid(f"{where} must be an object.")
    _unknown(part, PART_DATA | PART_META, where)
    data = [key for key in part if key in PART_DATA]
    if len(data) != 1:
        raise Invalid(f"{where} must hold exactly one kind of data, not {data or 'none'}.")
    kind = data[0]
    if kind == "text" and (not isinstance(part["text"], str) or not part["text"]):
        raise Invalid("Unable to submit request because it has an empty text parameter. Add a value to the "
                      "parameter and try again.")
    if kind == "functionCall":
        call = part["functionCall"]
        if role != "model":
            raise Invalid(f"{where}: a function call may only come from the model.")
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
            raise Invalid(f"{where}.function_call.name: missing field.")
        _unknown(call, {"name", "args", "id", "partialArgs", "willContinue"}, f"{where}.function_call")
        if not isinstance(call.get("args", {}), dict):
            raise Invalid(f"{where}.function_call.args must be an object.")
    if kind == "functionResponse":
        answer = part["functionResponse"]
        if role != "user":
            raise Invalid(f"{where}: a function response must be sent in a user turn.")
        if not isinstance(answer, dict) or not isinstance(answer.get("name"), str) or not answer["name"]:
            raise Invalid(f"{where}.function_response.name: missing field.")
        _unknown(answer, {"name", "response", "id", "parts", "scheduling"}, f"{where}.function_response")
        if not isinstance(answer.get("response"), dict):
            raise Invalid(f"{where}.function_response.response must be an object.")


def _names(content: dict[str, Any], kind: str) -> list[str]:
    return sorted(part[kind]["name"] for part in content["parts"] if kind in part)


def _check_pairs(contents: list[dict[str, Any]]) -> None:
    for index, content in enumerate(contents):
        called = _names(content, "functionCall")
        answered = _names(content, "functionResponse")
        if answered:
            before = contents[index - 1] if index > 0 else None
            if before is None or not _names(before, "functionCall"):
                raise Invalid("Please ensure that function response turn comes immediately after a function call "
                              "turn.")
            if len(answered) != len(_names(before, "functionCall")):
                raise Invalid("Please ensure that the number of function response parts is equal to the number "
                              "of function call parts of the function call turn.")
            if answered != _names(before, "functionCall"):
                raise Invalid("Please ensure that the function response names match the function calls of the "
                              "function call turn.")
        if called:
            after = contents[index + 1] if index + 1 < len(contents) else None
            if after is None or not _names(after, "functionResponse"):
                raise Invalid("Please ensure that function call turn comes immediately after a user turn or after "
                              "a function response turn, and is answered by a function response turn.")


def _check_signatures(contents: list[dict[str, Any]], signatures: dict[str, str]) -> None:
    # the current turn starts after the last user content that says something (not only function responses)
    start = 0
    for index, content in enumerate(contents):
        if content["role"] == "user" and any("text" in part for part in content["parts"]):
            start = index
    for index in range(start, len(contents)):
        for part in contents[index]["parts"]:
            if "functionCall" not in part:
                continue
            issued = signatures.get(call_key(part["functionCall"]))
            if issued is not None and _bytes(part.get("thoughtSignature")) != _bytes(issued):
                raise Invalid(f"Function call is missing a thought_signature in functionCall parts. "
                              f"(contents[{index}])")


def _bytes(value: Any) -> bytes | None:
    # protobuf's JSON takes bytes in standard or URL-safe base64 (the SDK sends the URL-safe one)
    if not isinstance(value, str):
        return None
    try:
        return base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_"))
    except ValueError:
        raise Invalid(f"Invalid value for a bytes field: {value!r}") from None


def _check_tools(tools: Any) -> set[str]:
    declared: set[str] = set()
    if tools is None:
        return declared
    if not isinstance(tools, list):
        raise Invalid("tools must be a list.")
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not tool:
            raise Invalid(f"tools[{index}] must name a tool.")
        _unknown(tool, {"functionDeclarations", "googleSearch", "retrieval", "codeExecution", "urlContext"},
                 f"tools[{index}]")
        for number, declaration in enumerate(tool.get("functionDeclarations") or []):
            where = f"tools[{index}].function_declarations[{number}]"
            if not isinstance(declaration, dict):
                raise Invalid(f"{where} must be an object.")
            _unknown(declaration, DECLARATION_FIELDS, where)
            name = declaration.get("name")
            if not isinstance(name, str) or not NAME.match(name):
                raise Invalid(f"{where}.name: Invalid function name. Must start with a letter or an underscore. "
                              "Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a "
                              "maximum length of 64.")
            if name in declared:
                raise Invalid(f"Duplicate function declaration found: {name}")
            declared.add(name)
            if "description" in declaration and not isinstance(declaration["description"], str):
                raise Invalid(f"{where}.description must be a string.")
            if "parameters" in declaration:
                parameters = declaration["parameters"]
                if not isinstance(parameters, dict) or str(parameters.get("type", "")).upper() != "OBJECT":
                    raise Invalid(f"{where}.parameters.type: must be OBJECT.")
                check_schema(parameters, f"{where}.parameters")
    return declared


def _check_tool_config(config: Any, declared: set[str]) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise Invalid("tool_config must be an object.")
    _unknown(config, {"functionCallingConfig", "retrievalConfig"}, "tool_config")
    calling = config.get("functionCallingConfig") or {}
    _unknown(calling, {"mode", "allowedFunctionNames", "streamFunctionCallArguments"},
             "tool_config.function_calling_config")
    if calling.get("mode", "AUTO") not in ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"):
        raise Invalid(f"Invalid value at 'tool_config.function_calling_config.mode': {calling.get('mode')!r}")
    allowed = calling.get("allowedFunctionNames")
    if allowed is not None:
        if calling.get("mode") not in ("ANY", "VALIDATED"):
            raise Invalid("allowed_function_names may only be set when the mode is ANY or VALIDATED.")
        for name in allowed:
            if name not in declared:
                raise Invalid(f"allowed_function_names names an undeclared function: {name}")


def _check_generation(config: Any) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise Invalid("generation_config must be an object.")
    _unknown(config, GENERATION_FIELDS, "generation_config")
    if "responseSchema" in config:
        if config.get("responseMimeType") != "application/json":
            raise Invalid("response_schema is only supported with response_mime_type application/json.")
        check_schema(config["responseSchema"], "generation_config.response_schema")
    temperature = config.get("temperature")
    if temperature is not None and not (isinstance(temperature, int | float) and 0 <= temperature <= 2):
        raise Invalid("generation_config.temperature must be between 0 and 2.")


def _integer(value: Any) -> bool:
    # int64 fields arrive as JSON numbers or as strings of digits
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.isdigit()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def check_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise Invalid(f"{where} must be a Schema object.")
    # protobuf's JSON takes a field by its JSON name or its proto name: `propertyOrdering` or `property_ordering`
    # (the SDK sends the second in a response schema); the names of `properties` are the caller's and stay
    camel = {_camel(key): value for key, value in schema.items()}
    if len(camel) != len(schema):
        raise Invalid(f"{where}: a field is given twice, by its JSON name and by its proto name.")
    schema = camel
    _unknown(schema, SCHEMA_FIELDS, where)
    kind = schema.get("type")
    if kind is None:
        if "anyOf" not in schema:
            raise Invalid(f"{where}.type: missing field.")
        for number, option in enumerate(schema["anyOf"]):
            check_schema(option, f"{where}.any_of[{number}]")
        return
    if not isinstance(kind, str) or kind.upper() not in TYPES:
        raise Invalid(f"Invalid value at '{where}.type' (type.googleapis.com/google.cloud.aiplatform.v1beta1.Type), "
                      f"{json.dumps(kind)}")
    kind = kind.upper()
    for key in ("description", "format", "title", "pattern"):
        if key in schema and not isinstance(schema[key], str):
            raise Invalid(f"{where}.{key} must be a string.")
    for key in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
        if key in schema and not _integer(schema[key]):
            raise Invalid(f"{where}.{key} must be an integer.")
    for key in ("minimum", "maximum"):
        if key in schema and (not isinstance(schema[key], int | float) or isinstance(schema[key], bool)):
            raise Invalid(f"{where}.{key} must be a number.")
    if "nullable" in schema and not isinstance(schema["nullable"], bool):
        raise Invalid(f"{where}.nullable must be a boolean.")
    if "enum" in schema:
        values = schema["enum"]
        if kind != "STRING":
            raise Invalid(f"{where}.enum: only allowed for STRING type.")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise Invalid(f"{where}.enum: must be a non-empty list of strings.")
    if kind == "ARRAY":
        if "items" not in schema:
            raise Invalid(f"{where}.items: missing field.")
        check_schema(schema["items"], f"{where}.items")
    elif "items" in schema:
        raise Invalid(f"{where}.items: only allowed for ARRAY type.")
    properties = schema.get("properties")
    if kind == "OBJECT":
        if not isinstance(properties, dict) or not properties:
            raise Invalid(f"{where}.properties: should be non-empty for OBJECT type")
        for name, child in properties.items():
            check_schema(child, f"{where}.properties[{name}]")
        required = schema.get("required", [])
        if not isinstance(required, list):
            raise Invalid(f"{where}.required must be a list.")
        for number, name in enumerate(required):
            if name not in properties:
                raise Invalid(f"{where}.required[{number}]: property is not defined")
        ordering = schema.get("propertyOrdering", [])
        if not isinstance(ordering, list) or any(name not in properties for name in ordering):
            raise Invalid(f"{where}.property_ordering: must name properties of the schema")
    elif properties is not None or "required" in schema:
        raise Invalid(f"{where}.properties: only allowed for OBJECT type.")
