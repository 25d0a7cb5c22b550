package dev.tokc.runtime.exec;

import dev.tokc.runtime.artifact.ArtifactException;
import dev.tokc.runtime.artifact.Engine;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads the generated program of a JVM engine: reads {@code program.json}, opens {@code program.jar} in its own class
 * loader (parent: the runtime's, so the generated class links against this {@link ExecContext}) and instantiates the
 * class it names. The engine's checksums were verified when it was opened, so the jar is the one compiled.
 */
public final class ProgramLoader {
    private ProgramLoader() {}

    /** The program's description. */
    public static ProgramInfo info(Engine engine) throws IOException {
        Path p = engine.file(ProgramInfo.FILE);
        if (!Files.exists(p)) {
            throw new ArtifactException(engine.directory() + " has no " + ProgramInfo.FILE + " (not a JVM engine?)");
        }
        return ProgramInfo.parse(Files.readAllBytes(p));
    }

    /** Instantiates the engine's program class from its jar. */
    public static CompiledProgram load(Engine engine, ProgramInfo info) throws IOException {
        Path jar = engine.file(ProgramInfo.JAR);
        // Never closed: the class (and its loader) live as long as the program object is used.
        URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ProgramLoader.class.getClassLoader());
        try {
            Class<?> c = Class.forName(info.className(), true, loader);
            return (CompiledProgram) c.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException | LinkageError e) {
            throw new ArtifactException(jar + ": cannot load program class " + info.className() + ": " + e, e);
        }
    }
}
