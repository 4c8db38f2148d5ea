/* A printf-style formatter (%d %i %u %x %X %o %c %s %p %%, flags - 0 + space,
 * width, precision, l and ll) formatting into a buffer, many times:
 * division by 10/16/8 (32- and 64-bit, the latter through libgcc), varargs,
 * branches on format characters, byte stores. */
#include "rt.h"

#define REPS 1100

struct sink {
	char *p, *end;
};

static void put(struct sink *o, char c)
{
	if (o->p < o->end)
		*o->p = c;
	o->p++;
}

static void emit_num(struct sink *o, u64 v, int neg, u32 base, int upper, int width,
		     int prec, int left, int zero, char plus)
{
	char tmp[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;
	if (v >> 32) {
		do {
			tmp[n++] = digits[v % base];
			v /= base;
		} while (v);
	} else {
		u32 w = (u32)v; /* the 32-bit fast path printf implementations take */
		do {
			tmp[n++] = digits[w % base];
			w /= base;
		} while (w);
	}
	if (prec >= 0)
		zero = 0;
	int digits_n = n > prec ? n : prec;
	char sign = neg ? '-' : plus;
	int len = digits_n + (sign != 0);
	if (!left && !zero)
		for (; width > len; width--)
			put(o, ' ');
	if (sign)
		put(o, sign);
	if (!left && zero)
		for (; width > len; width--)
			put(o, '0');
	for (int i = n; i < prec; i++)
		put(o, '0');
	while (n)
		put(o, tmp[--n]);
	for (; left && width > len; width--)
		put(o, ' ');
}

static NOINLINE int vformat(char *buf, u32 size, const char *fmt, __builtin_va_list ap)
{
	struct sink o = {buf, buf + size - 1};
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
		char plus = 0;
		for (;; fmt++) {
			if (fmt[1] == '-')
				left = 1;
			else if (fmt[1] == '0')
				zero = 1;
			else if (fmt[1] == '+')
				plus = '+';
			else if (fmt[1] == ' ')
				plus = plus ? plus : ' ';
			else
				break;
		}
		fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			fmt++;
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			s64 v = lng >= 2 ? __builtin_va_arg(ap, s64) : __builtin_va_arg(ap, s32);
			emit_num(&o, v < 0 ? (u64)-v : (u64)v, v < 0, 10, 0, width, prec, left, zero, plus);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			u64 v = lng >= 2 ? __builtin_va_arg(ap, u64) : __builtin_va_arg(ap, u32);
			u32 base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			emit_num(&o, v, 0, base, *fmt == 'X', width, prec, left, zero, 0);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			emit_num(&o, __builtin_va_arg(ap, u32), 0, 16, 0, 8, -1, 0, 1, 0);
			break;
		case 'c':
			put(&o, (char)__builtin_va_arg(ap, int));
			break;
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			int n = 0;
			while (s[n] && (prec < 0 || n < prec))
				n++;
			for (; !left && width > n; width--)
				put(&o, ' ');
			for (int i = 0; i < n; i++)
				put(&o, s[i]);
			for (; left && width > n; width--)
				put(&o, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '?');
		}
	}
	*o.p = 0;
	return (int)(o.p - buf);
}

static int format(char *buf, u32 size, const char *fmt, ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	int n = vformat(buf, size, fmt, ap);
	__builtin_va_end(ap);
	return n;
}

static char line[256];
static const char *const names[] = {"alpha", "", "a much longer string value", "x", "domain-0"};

int main(void)
{
	u32 s = 12345, h = 2166136261u;
	for (int r = 0; r < REPS; r++) {
		for (int k = 0; k < 10; k++) {
			s = s * 1664525u + 1013904223u;
			u64 big = ((u64)s << 32) | (s ^ 0x9e3779b9u);
			int n = format(line, sizeof(line),
				       "[%d|%5i|%-6u|%08x|%X|%o|%c|%s|%.3s|%-12s|%+d|% d|%.5d|%lld|%llu|%llx|%p|%%]",
				       (s32)s, (s32)(s >> 20) - 2048, s >> 8, s, s >> 4, s & 0xfff,
				       'A' + (s % 26), names[s % 5], names[(s >> 3) % 5],
				       names[(s >> 7) % 5], (s32)(s % 1000) - 500, (s32)(s >> 24),
				       (s32)(s % 99), (s64)big, big, big >> 3, s);
			for (int i = 0; i < n; i++)
				h = (h ^ (u8)line[i]) * 16777619u;
		}
	}
	format(line, sizeof(line), "%s", "printf");
	report(line, h);
	return 0;
}
