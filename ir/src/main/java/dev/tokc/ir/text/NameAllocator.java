package dev.tokc.ir.text;

import java.util.HashSet;
import java.util.Set;

/**
 * Fresh numeric names ({@code 0}, {@code 1}, ...) for unnamed values, after JavaPoet's NameAllocator: a number that
 * some value already carries as its real name is skipped, so {@code %3} never reads as two different values.
 * (The printer still quotes all-digit real names, {@code %"3"}, because the parser treats {@code %3} as unnamed.)
 */
final class NameAllocator {
    private final Set<String> taken;
    private int next;

    NameAllocator(Set<String> realNames) {
        this.taken = new HashSet<>(realNames);
    }

    String newName() {
        String name;
        do {
            name = Integer.toString(next++);
        } while (taken.contains(name));
        taken.add(name);
        return name;
    }
}
