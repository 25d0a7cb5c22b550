package dev.tokc.ir;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The registry of op records by text name, derived from the sealed hierarchy so it cannot miss an op. */
public final class OpNames {
    private OpNames() {}

    private static final Map<Class<?>, String> NAMES = new ConcurrentHashMap<>();
    private static volatile Map<String, Class<? extends Op>> byName;

    /** Names the snake_case rule gets wrong (acronyms in mixed case). */
    private static final Map<String, String> IRREGULAR = Map.of("IsNaN", "is_nan");

    static String nameOf(Class<?> c) {
        return NAMES.computeIfAbsent(c, k -> IRREGULAR.getOrDefault(k.getSimpleName(), snake(k.getSimpleName())));
    }

    /** camelCase or PascalCase to snake_case: {@code numKvHeads} -> {@code num_kv_heads}, {@code GatherND} -> {@code gather_nd}. */
    public static String snake(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (Character.isUpperCase(ch)) {
                boolean prevLower = i > 0 && (Character.isLowerCase(s.charAt(i - 1)) || Character.isDigit(s.charAt(i - 1)));
                boolean nextLower = i + 1 < s.length() && Character.isLowerCase(s.charAt(i + 1));
                boolean prevUpper = i > 0 && Character.isUpperCase(s.charAt(i - 1));
                if (i > 0 && (prevLower || (prevUpper && nextLower))) {
                    sb.append('_');
                }
                sb.append(Character.toLowerCase(ch));
            } else {
                sb.append(ch);
            }
        }
        return sb.toString();
    }

    /** Every op record class by text name. */
    public static Map<String, Class<? extends Op>> all() {
        if (byName == null) {
            Map<String, Class<? extends Op>> m = new LinkedHashMap<>();
            collect(Op.class, m);
            byName = Collections.unmodifiableMap(m);
        }
        return byName;
    }

    @SuppressWarnings("unchecked")
    private static void collect(Class<?> c, Map<String, Class<? extends Op>> m) {
        if (c.isRecord()) {
            String n = nameOf(c);
            if (m.put(n, (Class<? extends Op>) c) != null) {
                throw new IllegalStateException("two ops named " + n);
            }
            return;
        }
        Class<?>[] subs = c.getPermittedSubclasses();
        if (subs != null) {
            for (Class<?> s : subs) {
                collect(s, m);
            }
        }
    }
}
