// A recursive-descent parser for PTX modules: module directives, variable and register
// declarations, `.entry`/`.func` headers and bodies, nested blocks, labels, and instructions with
// their guards and operands. It recovers at `;` and braces, so one slip yields one problem.
// Statements go to a visitor as they are parsed; only module-level structure is kept.
import type {
  Block,
  Declaration,
  DeclaredName,
  Instruction,
  Operand,
  ParseProblem,
  PtxFunction,
  PtxModule,
  PtxVisitor,
  Span,
} from './ast';
import { PtxLexer, isWellFormedNumber, type Token } from './lexer';

/** Real PTX nests blocks a few levels; deeper ones are skipped, not parsed (the parser recurses per level). */
export const MAX_BLOCK_DEPTH = 256;

const STATE_SPACES = new Set(['.reg', '.const', '.global', '.local', '.param', '.shared', '.tex']);
const LINKAGE = new Set(['.visible', '.extern', '.weak', '.common']);
const LINE_DIRECTIVES = new Set(['.file', '.loc']);
/** Directives that can only start a module-level statement: seen in a body, a '}' is missing. */
const MODULE_STARTERS = new Set(['.entry', '.func', '.version', '.target', ...LINKAGE]);
const OPEN: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS = new Set([')', ']', '}']);
const OPERATORS = new Set(['+', '-', '*', '/', '%', '|', '&', '^', '<', '>', '=', '?', ':', '!', '~']);

const noVisitor: PtxVisitor = {
  declaration: () => undefined,
  functionStart: () => undefined,
  blockOpen: () => undefined,
  blockClose: () => undefined,
  label: () => undefined,
  instruction: () => undefined,
  targets: () => undefined,
  functionEnd: () => undefined,
};

export function parsePtx(text: string, visitor: PtxVisitor = noVisitor): PtxModule {
  return new Parser(text, visitor).parseModule();
}

class Parser {
  private readonly lexer: PtxLexer;
  /** Lookahead; the parser never needs more than two tokens ahead. */
  private readonly ahead: Token[] = [];
  /** The last token consumed. */
  private last: Token | undefined;
  private depth = 0;
  private readonly module: PtxModule;

  constructor(
    private readonly text: string,
    private readonly visitor: PtxVisitor,
  ) {
    this.lexer = new PtxLexer(text);
    this.module = {
      repeatedDirectives: [],
      statementsBeforeTarget: [],
      functions: [],
      declarations: [],
      moduleLabels: [],
      problems: [],
      usesPreprocessor: false,
    };
  }

  private peek(offset = 0): Token | undefined {
    while (this.ahead.length <= offset) {
      const token = this.lexer.next();
      if (token === undefined) return undefined;
      this.ahead.push(token);
    }
    return this.ahead[offset];
  }

  private next(): Token | undefined {
    const token = this.ahead.length > 0 ? this.ahead.shift() : this.lexer.next();
    if (token !== undefined) this.last = token;
    return token;
  }

  private isPunct(token: Token | undefined, text: string): boolean {
    return token !== undefined && token.kind === 'punct' && token.text === text;
  }

  private peekIsPunct(text: string, offset = 0): boolean {
    return this.isPunct(this.peek(offset), text);
  }

  private problem(span: Span, message: string, code = 'syntax', severity: ParseProblem['severity'] = 'error'): void {
    this.module.problems.push({ start: span.start, end: Math.max(span.end, span.start), message, severity, code });
  }

  /** A zero-width span just after a token: where a missing `;` belongs. */
  private after(token: Token): Span {
    return { start: token.end, end: token.end };
  }

  private endOfText(): Span {
    return { start: this.text.length, end: this.text.length };
  }

  private describe(token: Token | undefined): string {
    if (token === undefined) return 'the end of the file';
    if (token.kind === 'invalid') return `'${token.text}' (a character PTX has no use for)`;
    return `'${token.text.length > 40 ? `${token.text.slice(0, 40)}…` : token.text}'`;
  }

  /** Skips to the end of the statement: past the next `;` at depth 0, or to a `}` that closes the enclosing block. */
  private recover(): void {
    let depth = 0;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      if (token.kind === 'punct') {
        if (token.text === '{' || token.text === '(' || token.text === '[') depth++;
        else if (token.text === ')' || token.text === ']') depth = Math.max(0, depth - 1);
        else if (token.text === '}') {
          if (depth === 0) return;
          depth--;
        } else if (token.text === ';' && depth === 0) {
          this.next();
          return;
        }
      }
      this.next();
    }
  }

  private skipLine(line: number): void {
    while (this.peek()?.line === line) this.next();
  }

  parseModule(): PtxModule {
    const module = this.module;
    let sawTarget = false;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      if (token.kind === 'preprocessor') {
        module.usesPreprocessor = true;
        this.next();
        continue;
      }
      module.firstStatement ??= token;
      if (module.version && !sawTarget && token.text !== '.target' && token.text !== '.version')
        module.statementsBeforeTarget.push(token);
      if (token.kind === 'directive') {
        if (token.text === '.version') this.parseVersion();
        else if (token.text === '.target') {
          sawTarget = true;
          this.parseTarget();
        } else if (token.text === '.address_size') this.parseAddressSize();
        else if (token.text === '.pragma' || token.text === '.alias') this.recover();
        else if (token.text === '.section') this.parseSection();
        else if (LINE_DIRECTIVES.has(token.text)) {
          this.next();
          this.skipLine(token.line);
        } else this.parseModuleDeclaration();
        continue;
      }
      this.next();
      if (this.isPunct(token, '}')) {
        this.problem(token, "this '}' closes nothing: there is no open '{' before it", 'unbalanced-brace');
        continue;
      }
      if (token.kind === 'word' && this.peekIsPunct(':')) {
        this.next();
        const label = { kind: 'label' as const, name: token.text, span: { start: token.start, end: token.end } };
        module.moduleLabels.push(label);
        this.visitor.label(label, false);
        continue;
      }
      if (token.kind === 'word' || this.isPunct(token, '@')) {
        this.problem(
          token,
          `instruction ${this.describe(token)} outside a function: instructions belong in the body of an .entry or .func`,
          'instruction-outside-function',
        );
      } else {
        this.problem(
          token,
          `unexpected ${this.describe(token)} at module scope: expected a directive such as .version, .target, .entry, .func or a variable declaration`,
        );
      }
      this.recover();
    }
    for (const p of this.lexer.problems) module.problems.push({ ...p, severity: 'error', code: 'syntax' });
    return module;
  }

  private parseVersion(): void {
    const directive = this.next();
    if (directive === undefined) return;
    if (this.module.version) this.module.repeatedDirectives.push(directive);
    const value = this.peek();
    if (value === undefined || value.line !== directive.line || value.kind !== 'number') {
      this.problem(directive, '.version needs a PTX ISA version such as 8.0', 'version');
      this.skipLine(directive.line);
      this.module.version ??= { text: '', directive, valueSpan: directive };
      return;
    }
    this.next();
    const match = /^(\d+)\.(\d)$/.exec(value.text);
    if (!match)
      this.problem(value, `'${value.text}' is not a PTX ISA version: write major.minor, such as 8.0`, 'version');
    if (!this.module.version) {
      this.module.version = match
        ? { text: value.text, value: Number(match[1]) * 10 + Number(match[2]), directive, valueSpan: value }
        : { text: value.text, directive, valueSpan: value };
    }
    this.expectLineEnd(directive.line);
  }

  private parseTarget(): void {
    const directive = this.next();
    if (directive === undefined) return;
    if (this.module.target) this.module.repeatedDirectives.push(directive);
    const words: Token[] = [];
    let expectWord = true;
    while (this.peek()?.line === directive.line) {
      const token = this.next();
      if (token === undefined) break;
      if (expectWord && token.kind === 'word') {
        words.push(token);
        expectWord = false;
      } else if (!expectWord && this.isPunct(token, ',')) {
        expectWord = true;
      } else {
        this.problem(
          token,
          `unexpected ${this.describe(token)} in .target: expected a list such as sm_90, texmode_independent`,
          'target',
        );
        break;
      }
    }
    this.skipLine(directive.line);
    if (words.length === 0) this.problem(directive, '.target needs an architecture such as sm_90', 'target');
    this.module.target ??= { directive, words };
  }

  private parseAddressSize(): void {
    const directive = this.next();
    if (directive === undefined) return;
    const value = this.peek();
    if (value !== undefined && value.line === directive.line && value.kind === 'number') {
      this.next();
      this.module.addressSize = { directive, value };
      if (value.text !== '32' && value.text !== '64')
        this.problem(value, `.address_size must be 32 or 64, not ${value.text}`, 'address-size');
    } else {
      this.module.addressSize = { directive };
      this.problem(directive, '.address_size needs 32 or 64', 'address-size');
    }
    this.expectLineEnd(directive.line);
  }

  private expectLineEnd(line: number): void {
    const extra = this.peek();
    if (this.isPunct(extra, ';')) {
      this.next();
    } else if (extra !== undefined && extra.line === line) {
      this.problem(extra, `unexpected ${this.describe(extra)} after the directive`);
      this.skipLine(line);
    }
  }

  /** `.section .debug_info { ... }`: debug data, kept opaque except for the labels it defines. */
  private parseSection(): void {
    const directive = this.next();
    if (directive === undefined) return;
    const kind = this.peek()?.kind;
    if (kind === 'directive' || kind === 'word') this.next();
    const open = this.peek();
    if (open === undefined || !this.isPunct(open, '{')) {
      this.problem(directive, '.section needs a name and a body in braces: .section .debug_info { ... }');
      this.recover();
      return;
    }
    this.next();
    let depth = 1;
    while (depth > 0) {
      const token = this.next();
      if (token === undefined) break;
      if (this.isPunct(token, '{')) depth++;
      else if (this.isPunct(token, '}')) depth--;
      else if (token.kind === 'word' && this.peekIsPunct(':')) {
        const label = { kind: 'label' as const, name: token.text, span: { start: token.start, end: token.end } };
        this.module.moduleLabels.push(label);
        this.visitor.label(label, false);
      }
    }
    if (depth > 0) this.problem(open, "this '{' of a .section is never closed: add '}'", 'unbalanced-brace');
  }

  /** Linkage attributes, then a function or a variable. */
  private parseModuleDeclaration(): void {
    const start = this.peek();
    while (this.peek()?.kind === 'directive' && LINKAGE.has(this.peek()?.text ?? '')) this.next();
    const token = this.peek();
    if (token?.kind === 'directive' && (token.text === '.entry' || token.text === '.func')) {
      this.parseFunction(start ?? token);
      return;
    }
    if (token?.kind === 'directive' && STATE_SPACES.has(token.text)) {
      const declaration = this.parseDeclaration(start ?? token);
      if (declaration) {
        this.module.declarations.push(declaration);
        this.visitor.declaration(declaration, 0);
      }
      return;
    }
    this.problem(
      token ?? start ?? this.endOfText(),
      `unexpected ${this.describe(token)} at module scope: expected .entry, .func or a state space such as .global or .shared`,
    );
    if (token !== undefined) this.next();
    this.recover();
  }

  private parseFunction(start: Token): void {
    const keyword = this.next();
    if (keyword === undefined) return;
    const kind = keyword.text === '.entry' ? 'entry' : 'func';
    const returns = kind === 'func' && this.peekIsPunct('(') ? this.parseParamList() : [];
    const name = this.peek();
    if (name === undefined || name.kind !== 'word') {
      this.problem(name ?? keyword, `${keyword.text} needs a name, found ${this.describe(name)}`);
      this.recover();
      return;
    }
    this.next();
    const params = this.peekIsPunct('(') ? this.parseParamList() : [];
    // Performance directives and attributes: .maxntid 256, 1, 1  .noreturn  .pragma "nounroll";
    for (let token = this.peek(); token?.kind === 'directive'; token = this.peek()) {
      this.next();
      if (token.text === '.pragma') {
        while (this.peek() !== undefined && !this.peekIsPunct(';') && !this.peekIsPunct('{')) this.next();
        if (this.peekIsPunct(';')) this.next();
        continue;
      }
      if (this.peekIsPunct('(')) this.skipGroup();
      while (this.peek()?.kind === 'number' || this.peekIsPunct(',')) this.next();
    }
    const fn: PtxFunction = {
      kind,
      name: name.text,
      nameSpan: { start: name.start, end: name.end },
      params,
      returns,
      span: { start: start.start, end: name.end },
    };
    this.module.functions.push(fn);
    this.visitor.functionStart(fn);
    const next = this.peek();
    if (this.isPunct(next, '{')) {
      fn.body = this.parseBlock();
      fn.span = { start: start.start, end: fn.body.close?.end ?? this.text.length };
    } else if (this.isPunct(next, ';')) {
      this.next();
    } else {
      this.problem(
        next ?? this.after(name),
        `expected '{' to start the body of ${name.text}, or ';' for a declaration; found ${this.describe(next)}`,
      );
      this.recover();
    }
    this.visitor.functionEnd(fn);
  }

  /** Skips a balanced `(...)`, `[...]` or `{...}`, stopping early at a `;` or `{` it cannot contain. */
  private skipGroup(): void {
    const open = this.next();
    if (open === undefined) return;
    const close = OPEN[open.text];
    let depth = 1;
    for (let token = this.peek(); token !== undefined && depth > 0; token = this.peek()) {
      if (token.kind === 'punct') {
        if (token.text === ';' || (token.text === '{' && open.text !== '{')) return;
        if (token.text === open.text) depth++;
        else if (token.text === close) depth--;
      }
      this.next();
    }
  }

  /** `( .param .u64 a, .param .align 8 .b8 b[16] )` */
  private parseParamList(): Declaration[] {
    const open = this.next();
    const params: Declaration[] = [];
    if (open === undefined) return params;
    if (this.peekIsPunct(')')) {
      this.next();
      return params;
    }
    for (;;) {
      const first = this.peek();
      if (first === undefined) {
        this.problem(open, "this '(' is never closed: add ')'", 'unbalanced-brace');
        return params;
      }
      const directives = this.parseDirectives();
      const name = this.peek();
      if (name?.kind !== 'word') {
        this.problem(name ?? first, `expected a parameter name, found ${this.describe(name)}`);
        this.skipParamRest();
        if (this.peekIsPunct(',')) {
          this.next();
          continue;
        }
        if (this.peekIsPunct(')')) this.next();
        return params;
      }
      this.next();
      const declared: DeclaredName = { name: name.text, span: { start: name.start, end: name.end } };
      this.parseNameSuffixes(declared);
      params.push({
        kind: 'declaration',
        stateSpace: directives[0]?.text,
        directives,
        names: [declared],
        span: { start: first.start, end: name.end },
      });
      const separator = this.peek();
      if (this.isPunct(separator, ',')) {
        this.next();
        continue;
      }
      if (this.isPunct(separator, ')')) {
        this.next();
        return params;
      }
      this.problem(
        separator ?? this.after(name),
        `expected ',' or ')' in the parameter list, found ${this.describe(separator)}`,
      );
      this.skipParamRest();
      if (this.peekIsPunct(')')) this.next();
      return params;
    }
  }

  private skipParamRest(): void {
    while (
      this.peek() !== undefined &&
      !this.peekIsPunct(',') &&
      !this.peekIsPunct(')') &&
      !this.peekIsPunct('{') &&
      !this.peekIsPunct(';')
    )
      this.next();
  }

  /** Leading directives of a declaration or parameter, with `.align N` and `.attribute(...)` arguments. */
  private parseDirectives(): Token[] {
    const directives: Token[] = [];
    for (let token = this.peek(); token?.kind === 'directive'; token = this.peek()) {
      this.next();
      directives.push(token);
      if (token.text === '.align' && this.peek()?.kind === 'number') this.next();
      if (this.peekIsPunct('(')) this.skipGroup();
    }
    return directives;
  }

  /** `<N>` (a register range), `[N]` dimensions. */
  private parseNameSuffixes(declared: DeclaredName): void {
    if (this.peekIsPunct('<')) {
      const open = this.next();
      const count = this.peek();
      if (count?.kind === 'number' && /^\d+$/.test(count.text) && this.peekIsPunct('>', 1)) {
        this.next();
        const close = this.next();
        declared.count = Number(count.text);
        declared.span = { start: declared.span.start, end: close?.end ?? declared.span.end };
      } else {
        this.problem(
          open ?? declared.span,
          `a register range is written ${declared.name}<N> with a decimal count N`,
          'register-range',
        );
        while (this.peek() !== undefined && !this.peekIsPunct('>') && !this.peekIsPunct(';') && !this.peekIsPunct(','))
          this.next();
        if (this.peekIsPunct('>')) this.next();
      }
    }
    while (this.peekIsPunct('[')) this.skipGroup();
  }

  private parseDeclaration(start: Token): Declaration | undefined {
    const directives = this.parseDirectives();
    const stateSpace = directives.find((d) => STATE_SPACES.has(d.text))?.text;
    const names: DeclaredName[] = [];
    for (;;) {
      const name = this.peek();
      if (name?.kind !== 'word') {
        this.problem(name ?? start, `expected a name in this declaration, found ${this.describe(name)}`);
        this.recover();
        return undefined;
      }
      this.next();
      const declared: DeclaredName = { name: name.text, span: { start: name.start, end: name.end } };
      this.parseNameSuffixes(declared);
      names.push(declared);
      if (this.peekIsPunct('=')) {
        this.next();
        this.skipInitializer();
      }
      if (!this.peekIsPunct(',')) break;
      this.next();
    }
    const last = this.last ?? start;
    const end = this.peek();
    if (this.isPunct(end, ';')) {
      this.next();
    } else {
      this.problem(
        this.after(last),
        `expected ';' after this declaration, found ${this.describe(end)}`,
        'missing-semicolon',
      );
      if (end !== undefined && end.line === last.line) this.recover();
    }
    return { kind: 'declaration', stateSpace, directives, names, span: { start: start.start, end: last.end } };
  }

  private skipInitializer(): void {
    let depth = 0;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      if (token.kind === 'punct') {
        if (token.text === '{' || token.text === '(' || token.text === '[') depth++;
        else if (token.text === '}' || token.text === ')' || token.text === ']') {
          if (depth === 0) return;
          depth--;
        } else if ((token.text === ',' || token.text === ';') && depth === 0) return;
      }
      this.next();
    }
  }

  private parseBlock(): Block {
    const open = this.next();
    const block: Block = { open: open ? { start: open.start, end: open.end } : this.endOfText() };
    this.depth++;
    this.visitor.blockOpen(block.open);
    for (;;) {
      const token = this.peek();
      if (token === undefined) {
        this.problem(block.open, "this '{' is never closed: add '}' (the file ended first)", 'unbalanced-brace');
        break;
      }
      if (this.isPunct(token, '}')) {
        this.next();
        block.close = { start: token.start, end: token.end };
        break;
      }
      // A module-level keyword inside a body means a '}' is missing: close here so the rest parses.
      if (token.kind === 'directive' && MODULE_STARTERS.has(token.text)) {
        this.problem(
          block.open,
          `this '{' is never closed: ${token.text} on line ${token.line + 1} comes first`,
          'unbalanced-brace',
        );
        break;
      }
      this.parseStatement(token);
    }
    this.visitor.blockClose();
    this.depth--;
    return block;
  }

  /**
   * A block nested past MAX_BLOCK_DEPTH, skipped to its matching '}' in a loop: parsing recurses
   * once per level, and about 10,000 '{' exhausted the stack (found by fuzzing).
   */
  private skipDeepBlock(open: Token): void {
    this.problem(
      open,
      `blocks nested more than ${MAX_BLOCK_DEPTH} deep: this one and everything inside it are not checked`,
      'nesting-too-deep',
    );
    let depth = 0;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      this.next();
      if (this.isPunct(token, '{')) depth++;
      else if (this.isPunct(token, '}') && --depth === 0) return;
    }
  }

  private parseStatement(token: Token): void {
    if (token.kind === 'preprocessor') {
      this.module.usesPreprocessor = true;
      this.next();
      return;
    }
    if (this.isPunct(token, '{')) {
      if (this.depth >= MAX_BLOCK_DEPTH) this.skipDeepBlock(token);
      else this.parseBlock();
      return;
    }
    if (this.isPunct(token, ';')) {
      this.next();
      return;
    }
    if (token.kind === 'directive') {
      if (STATE_SPACES.has(token.text)) {
        const declaration = this.parseDeclaration(token);
        if (declaration) this.visitor.declaration(declaration, this.depth);
      } else if (LINE_DIRECTIVES.has(token.text)) {
        this.next();
        this.skipLine(token.line);
      } else if (token.text === '.branchtargets' || token.text === '.calltargets') {
        this.next();
        const entries: Token[] = [];
        while (this.peek() !== undefined && !this.peekIsPunct(';') && !this.peekIsPunct('}')) {
          const entry = this.next();
          if (entry?.kind === 'word') entries.push(entry);
        }
        if (this.peekIsPunct(';')) this.next();
        this.visitor.targets({ kind: 'targets', directive: token, entries });
      } else if (token.text === '.pragma' || token.text === '.callprototype') {
        this.recover();
      } else {
        this.problem(token, `unexpected directive ${token.text} in a function body`);
        this.next();
        this.recover();
      }
      return;
    }
    if (token.kind === 'word' && this.peekIsPunct(':', 1)) {
      this.next();
      this.next();
      this.visitor.label({ kind: 'label', name: token.text, span: { start: token.start, end: token.end } }, true);
      return;
    }
    if (token.kind === 'word' || this.isPunct(token, '@')) {
      const instruction = this.parseInstruction();
      if (instruction) this.visitor.instruction(instruction);
      return;
    }
    this.problem(token, `unexpected ${this.describe(token)}: expected an instruction, a label, or a declaration`);
    this.next();
    this.recover();
  }

  private parseInstruction(): Instruction | undefined {
    const first = this.peek();
    if (first === undefined) return undefined;
    let guard: Instruction['guard'];
    if (this.isPunct(first, '@')) {
      this.next();
      const negated = this.peekIsPunct('!');
      if (negated) this.next();
      const register = this.peek();
      if (register?.kind !== 'word') {
        this.problem(register ?? first, `a guard is written @%p or @!%p, found ${this.describe(register)}`, 'guard');
        this.recover();
        return undefined;
      }
      this.next();
      guard = { register, negated };
    }
    const mnemonic = this.peek();
    if (mnemonic?.kind !== 'word') {
      this.problem(mnemonic ?? first, `expected an instruction, found ${this.describe(mnemonic)}`);
      this.recover();
      return undefined;
    }
    this.next();
    const operands = this.parseOperands(mnemonic);
    const last = this.last ?? mnemonic;
    const instruction: Instruction = {
      kind: 'instruction',
      mnemonic,
      operands,
      span: { start: first.start, end: last.end },
    };
    if (guard) instruction.guard = guard;
    return instruction;
  }

  /**
   * Operands up to the `;`: split at top-level commas; `[...]`, `{...}` and `(...)` stay whole.
   * Two values in a row with no operator between them mean a missing `,` or, across lines, a
   * missing `;` (reported once, at the end of the line that lacks it).
   */
  private parseOperands(mnemonic: Token): Operand[] {
    const operands: Operand[] = [];
    let current: Token[] = [];
    const stack: Token[] = [];
    // Per nesting level: whether the last thing there was a complete value.
    const valueEnded: boolean[] = [false];
    let previous: Token = mnemonic;
    const pushOperand = (at: Span): void => {
      const firstToken = current[0];
      const lastToken = current[current.length - 1];
      if (firstToken === undefined || lastToken === undefined) this.problem(at, 'missing operand here', 'operand');
      else operands.push({ tokens: current, span: { start: firstToken.start, end: lastToken.end } });
      current = [];
    };
    for (;;) {
      const token = this.peek();
      if (token === undefined || (stack.length === 0 && this.isPunct(token, '}'))) {
        this.problem(
          this.after(previous),
          `expected ';' at the end of this instruction, found ${this.describe(token)}`,
          'missing-semicolon',
        );
        if (current.length > 0) pushOperand(this.after(previous));
        return operands;
      }
      if (this.isPunct(token, ';')) {
        this.next();
        if (stack.length > 0) {
          const open = stack[stack.length - 1] ?? token;
          this.problem(
            open,
            `this '${open.text}' is never closed: add '${OPEN[open.text] ?? ''}' before the ';'`,
            'unbalanced-brace',
          );
        }
        if (current.length > 0 || operands.length > 0) pushOperand(token);
        return operands;
      }
      if (this.isPunct(token, ',') && stack.length === 0) {
        this.next();
        pushOperand(token);
        valueEnded[0] = false;
        previous = token;
        continue;
      }
      const level = stack.length;
      const startsValue =
        token.kind === 'word' ||
        token.kind === 'number' ||
        token.kind === 'string' ||
        (token.kind === 'punct' && token.text in OPEN);
      if (startsValue && valueEnded[level] === true) {
        if (token.line > previous.line && level === 0) {
          this.problem(
            this.after(previous),
            `expected ';' at the end of this instruction (the next line starts with ${this.describe(token)})`,
            'missing-semicolon',
          );
          if (current.length > 0) pushOperand(this.after(previous));
          return operands;
        }
        this.problem(token, `expected ',' or an operator before ${this.describe(token)}`, 'operand');
        this.recover();
        if (current.length > 0) pushOperand(token);
        return operands;
      }
      if (token.kind === 'number' && !isWellFormedNumber(token.text))
        this.problem(token, `'${token.text}' is not a valid number`, 'number');
      else if (token.kind === 'invalid') this.problem(token, `unexpected ${this.describe(token)} in an operand`);
      this.next();
      current.push(token);
      previous = token;
      if (token.kind === 'punct' && token.text in OPEN) {
        stack.push(token);
        valueEnded[stack.length] = false;
      } else if (token.kind === 'punct' && CLOSERS.has(token.text)) {
        const open = stack.pop();
        if (open === undefined || OPEN[open.text] !== token.text) {
          this.problem(
            token,
            open === undefined ? `this '${token.text}' closes nothing` : `'${open.text}' is closed by '${token.text}'`,
            'unbalanced-brace',
          );
          this.recover();
          if (current.length > 0) pushOperand(token);
          return operands;
        }
        valueEnded[stack.length] = true;
      } else if (token.kind === 'punct' && (token.text === ',' || OPERATORS.has(token.text))) {
        valueEnded[level] = false;
      } else {
        valueEnded[level] = token.kind !== 'punct';
      }
    }
  }
}
