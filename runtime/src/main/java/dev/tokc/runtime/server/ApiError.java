package dev.tokc.runtime.server;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A request the server refuses, answered as OpenAI does:
 * {@code {"error": {"message", "type", "param", "code"}}} with the HTTP status. Thrown anywhere while a request is
 * parsed or admitted; the server turns it into the response, nothing else escapes to the client.
 *
 * @see OpenAiServer the statuses each case gets
 */
public final class ApiError extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiError(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is malformed or asks for something this server cannot do. */
    public static ApiError badRequest(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    /** 400 for a parameter of the wrong JSON type or out of its range. */
    public static ApiError invalidParam(String param, String expected, Object got) {
        return new ApiError(400, "invalid_request_error",
                "'" + param + "' must be " + expected + ", got " + got, param, "invalid_value");
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    /** The response body. */
    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode error = f.objectNode();
        error.put("message", getMessage());
        error.put("type", type);
        if (param == null) {
            error.putNull("param");
        } else {
            error.put("param", param);
        }
        if (code == null) {
            error.putNull("code");
        } else {
            error.put("code", code);
        }
        ObjectNode root = f.objectNode();
        root.set("error", error);
        return root;
    }
}
