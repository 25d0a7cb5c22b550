/*
 * The text form of tokc IR graphs (see package-info.java for the format and IrPrinter for the canonical layout).
 *
 * The grammar is deliberately untyped below the statement level: an attribute value is a small tree (scalar,
 * dim polynomial, string, list, record, type, tensor literal) that IrParser converts to the Java type of the op
 * record's component, so adding an op or an attribute type needs no grammar change. Words such as true, inf,
 * nan, f32 or silu_mul are plain identifiers for the same reason; only the statement keywords are reserved, and
 * `ident` lets them be used as names (a dim symbol may be called `dims`).
 */
grammar IrText;

file        : graph* EOF ;

graph       : 'graph' GRAPH_NAME '(' (param (',' param)*)? ')'
              '->' '(' (tensorType (',' tensorType)*)? ')'
              '{' statement* returnStmt '}' ;

param       : VALUE ':' tensorType attributes? ;

statement   : VALUE '=' op ;

op          : 'weight' STRING ':' tensorType                        # weightOp
            | 'constant' tensorType tensorElements                  # constantOp
            | 'dims' shape                                          # dimsOp
            | ident '(' (VALUE (',' VALUE)*)? ')' attributes? ':' tensorType   # genericOp
            ;

returnStmt  : 'return' (VALUE (',' VALUE)*)? ;

attributes  : '{' (attribute (',' attribute)*)? '}' ;

attribute   : ident '=' value ;

value       : tensorType tensorElements?                            # typeValue
            | '[' (value (',' value)*)? ']'                         # listValue
            | attributes                                            # recordValue
            | STRING                                                # stringValue
            | '-'? FLOAT                                            # floatValue
            | dim                                                   # dimValue
            ;

tensorType  : ident shape ;

shape       : '[' (dim (',' dim)*)? ']' ;

tensorElements : '[' (element (',' element)*)? ']' ;

element     : '-'? (INT | FLOAT | IDENT) ;

dim         : '?'                                                   # unknownDim
            | '-'? term (addOp term)*                               # polynomialDim
            ;

addOp       : '+' | '-' ;

term        : factor ('*' factor)* ;

factor      : INT | ident ;

ident       : IDENT | 'graph' | 'return' | 'weight' | 'constant' | 'dims' ;

GRAPH_NAME  : '@' NAME_CHAR+ ;
VALUE       : '%' NAME_CHAR+ | '%' STRING ;
STRING      : '"' (ESCAPE | ~["\\\r\n])* '"' ;
FLOAT       : DIGIT+ '.' DIGIT+ EXPONENT? | DIGIT+ EXPONENT ;
INT         : DIGIT+ ;
IDENT       : [A-Za-z_] [A-Za-z0-9_]* ;

LINE_COMMENT : '//' ~[\r\n]* -> skip ;
WS          : [ \t\r\n]+ -> skip ;

fragment NAME_CHAR : [A-Za-z0-9_.$] ;
fragment DIGIT     : [0-9] ;
fragment EXPONENT  : [eE] [+-]? DIGIT+ ;
fragment ESCAPE    : '\\' (["\\/bfnrt] | 'u' HEX HEX HEX HEX) ;
fragment HEX       : [0-9a-fA-F] ;
