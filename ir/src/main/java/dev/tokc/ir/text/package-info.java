/**
 * The IR's text form: {@link dev.tokc.ir.text.IrPrinter} writes graphs, {@link dev.tokc.ir.text.IrParser} reads
 * them back, and {@code parse(print(g))} equals {@code g} (the same interned nodes). Golden files, pass tests,
 * {@code --dump-after} and the artifact's {@code program.ir} all use it.
 *
 * <h2>Syntax</h2>
 * A file is a sequence of graphs; {@code //} starts a comment that runs to the end of the line.
 * <pre>
 * file       := graph*
 * graph      := 'graph' '@'name '(' [param (',' param)*] ')' '->' '(' [type (',' type)*] ')' '{' stmt* return '}'
 * param      := %value ':' type ['{' 'param_name' '=' string '}']
 * stmt       := %value '=' op
 * op         := 'weight' string ':' type                    -- external tensor, by key
 *             | 'constant' type '[' elements ']'            -- literal, every element, row-major
 *             | 'dims' '[' dim, ... ']'                     -- i64 vector of symbolic dims
 *             | op_name '(' [%value, ...] ')' ['{' name '=' value, ... '}'] ':' type
 * return     := 'return' [%value (',' %value)*]
 * type       := element_type '[' [dim (',' dim)*] ']'      -- f32[batch, seq, 192], int4g32[256, 64], i64[]
 * dim        := '?' | polynomial over integers and symbols  -- 192, seq, 2*batch*seq+1, ctx-seq
 * value      := number | true | false | string | word      -- word: enum constant (silu_mul) or element type
 *             | dim | type | type '[' elements ']'          -- a tensor literal
 *             | '[' value, ... ']'                          -- lists: [0, 2, 1, 3], [batch, seq, 192]
 *             | '{' name '=' value, ... '}'                 -- records: {layers = 6, kv_heads = 2, ...}
 * number     := ['-'] (integer | float | 'inf' | 'nan')    -- floats print as 1.0e-05, 0.5, -0.0
 * %value     := '%' [A-Za-z0-9_.$]+ | '%' string          -- %7 is unnamed; %"7" is a value named 7
 * </pre>
 * Op names and attribute names are the snake_case names of the op records and their components
 * ({@link dev.tokc.ir.Op#name()}, {@link dev.tokc.ir.Op#attributes()}); every attribute is written, in component
 * order, and read in any order. Each generic op carries its result type, which the parser checks against the type
 * it infers. Errors read {@code file:line:col: message} ({@link dev.tokc.ir.text.IrSyntaxException}).
 */
package dev.tokc.ir.text;
