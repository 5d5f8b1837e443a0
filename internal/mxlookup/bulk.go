package mxlookup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"mailtk/internal/exitcode"
	"mailtk/internal/lineio"
	"mailtk/internal/mx"
)

// lookupFunc resolves one domain (mx.Resolver.Lookup in the program).
type lookupFunc func(ctx context.Context, domain string) mx.Result

// item is one input line on its way through the workers.
type item struct {
	seq    uint64
	domain string
	res    mx.Result
	done   bool // res is already final (bad input line)
}

// runList looks up the command-line domains, jobs at a time, in order.
func runList(ctx context.Context, domains []string, jobs int, lookup lookupFunc, out sink) error {
	i := 0
	next := func() (item, bool, error) {
		if i == len(domains) {
			return item{}, false, nil
		}
		i++
		return item{domain: domains[i-1]}, true, nil
	}
	return runOrdered(ctx, next, jobs, max(jobs, len(domains)), lookup, out)
}

// runBulk looks up one domain per line of in. Blank lines and lines
// starting with # are skipped; a line longer than maxLine is reported as
// invalid (and skipped to its end), so memory stays bounded whatever the
// input.
func runBulk(ctx context.Context, in io.Reader, jobs, window int, lookup lookupFunc, out sink) error {
	lr := lineio.NewReader(in, maxLine)
	next := func() (item, bool, error) {
		for {
			line, _, err := lr.ReadLine()
			switch {
			case errors.Is(err, lineio.ErrTooLong):
				e := fmt.Errorf("input line longer than %d octets", maxLine)
				return item{res: mx.Result{Input: "-", Status: mx.Invalid, Err: e}, done: true}, true, nil
			case err == io.EOF:
				return item{}, false, nil
			case err != nil:
				return item{}, false, exitcode.New(exitcode.IOErr, fmt.Errorf("reading stdin: %w", err))
			}
			line = bytes.TrimSpace(line)
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			return item{domain: string(line)}, true, nil
		}
	}
	return runOrdered(ctx, next, jobs, window, lookup, out)
}

// sink receives the results in order. flush is called whenever no
// further result is ready, so output is prompt when lookups are slow and
// written in large blocks when they are fast.
type sink interface {
	print(mx.Result) error
	flush() error
}

// runOrdered feeds the items from next to jobs workers and emits the
// results in input order. At most window items are between being read and
// being emitted, so memory is bounded however long the input is; a slow
// domain holds back the output (not the lookups) until window results
// are waiting behind it. An output error (stdout closed) stops everything.
func runOrdered(ctx context.Context, next func() (item, bool, error), jobs, window int,
	lookup lookupFunc, out sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window = max(window, jobs)
	slots := make(chan struct{}, window)
	work := make(chan item, jobs)
	results := make(chan item, jobs)

	var readErr error
	go func() { // reader
		defer close(work)
		for seq := uint64(0); ; seq++ {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			it, ok, err := next()
			if !ok {
				readErr = err
				<-slots
				return
			}
			it.seq = seq
			select {
			case work <- it:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for it := range work {
				if !it.done {
					it.res = lookup(ctx, it.domain)
				}
				results <- it
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	pending := make(map[uint64]mx.Result, window)
	var want uint64
	var emitErr error
	for it := range results {
		if emitErr != nil {
			continue // drain so the workers can finish
		}
		pending[it.seq] = it.res
		for {
			res, ok := pending[want]
			if !ok {
				break
			}
			delete(pending, want)
			want++
			emitErr = out.print(res)
			<-slots
			if emitErr != nil {
				cancel()
				break
			}
		}
		if emitErr == nil && len(results) == 0 {
			if emitErr = out.flush(); emitErr != nil {
				cancel()
			}
		}
	}
	if emitErr != nil {
		return emitErr
	}
	// The reader has returned: work was closed before results could be.
	return readErr
}
